//! The on-disk record batch: what one append writes, checked by a CRC.
//!
//! ```text
//! batch   := base_offset u64 | length u32 | crc u32 | magic u8 | count u32
//!            | last_offset_delta u32 | max_timestamp i64 | record{count}
//! record  := offset_delta u32 | timestamp i64 | key_len i32 | key | value_len i32 | value
//!            | header_count u32 | header{header_count}
//! header  := key_len u32 | key (UTF-8) | value_len i32 | value
//! ```
//!
//! Integers are little-endian; a length of -1 is a null key or value. A record's offset is
//! `base_offset + offset_delta`: an append numbers its records one after the other, and a
//! compacted batch keeps the offsets of the records it kept, with gaps between them. `length` counts the bytes
//! after itself; `crc` is CRC-32C of the bytes after itself. A batch whose length runs past the
//! end of its segment, or whose CRC does not match, is a torn write: recovery cuts the segment
//! there.

use bytes::Bytes;

use crate::topics::{Header, ProducerRecord, Record};

/// The bytes before `length`'s end: base offset and length.
pub const PREFIX: usize = 8 + 4;
/// The whole fixed header: prefix, CRC, magic, count, last offset delta, max timestamp.
pub const HEADER: usize = PREFIX + 4 + 1 + 4 + 4 + 8;
/// The format version written in each batch.
const MAGIC: u8 = 1;
/// About how many bytes of records one batch holds: a produce is split into batches of this
/// size, so a fetch that starts inside a batch re-reads little of it.
pub const TARGET_BATCH_BYTES: usize = 64 * 1024;
/// The largest record accepted (Kafka's `message.max.bytes` is about 1 MB).
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;
/// The largest batch a segment can hold: a full batch plus its largest record.
pub const MAX_BATCH_BYTES: usize = HEADER + TARGET_BATCH_BYTES + MAX_RECORD_BYTES;

/// Why bytes are not a whole, valid batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// Fewer bytes than the batch says it has: a write that did not finish.
    Truncated,
    /// The CRC, magic or layout is wrong.
    Corrupt(String),
}

/// The fixed header of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: u64,
    /// The whole batch's size in bytes, header included.
    pub size: usize,
    pub count: u32,
    /// The last record's offset, less the base offset.
    pub last_offset_delta: u32,
    pub max_timestamp: i64,
}

impl BatchHeader {
    /// The offset after the batch's last record.
    pub fn next_offset(&self) -> u64 {
        self.base_offset + u64::from(self.last_offset_delta) + 1
    }
}

/// The encoded size of a record.
pub fn record_size(r: &ProducerRecord) -> usize {
    let headers: usize = r
        .headers
        .iter()
        .map(|h| 8 + h.key.len() + h.value.as_ref().map_or(0, Vec::len))
        .sum();
    4 + 8
        + 4
        + r.key.as_ref().map_or(0, Vec::len)
        + 4
        + r.value.as_ref().map_or(0, Vec::len)
        + 4
        + headers
}

/// Appends one batch of `records`, numbered from `base_offset`, to `out`.
pub fn encode(out: &mut Vec<u8>, base_offset: u64, records: &[ProducerRecord]) {
    // A batch never holds more than u32::MAX records: the callers split by bytes first.
    let entries = records.iter().enumerate().map(|(i, r)| Entry {
        offset_delta: i as u32,
        timestamp: r.timestamp,
        key: r.key.as_deref(),
        value: r.value.as_deref(),
        headers: &r.headers,
    });
    encode_entries(out, base_offset, entries);
}

/// Appends one batch of records that keep their offsets (`base_offset` is the first's), as
/// compaction writes them.
pub fn encode_records(out: &mut Vec<u8>, records: &[Record]) {
    let Some(first) = records.first() else {
        return;
    };
    let base_offset = first.offset;
    let entries = records.iter().map(|r| Entry {
        // Records of one segment are less than u32::MAX offsets apart.
        offset_delta: (r.offset - base_offset) as u32,
        timestamp: r.timestamp,
        key: r.key.as_deref(),
        value: r.value.as_deref(),
        headers: &r.headers,
    });
    encode_entries(out, base_offset, entries);
}

/// One record to encode.
struct Entry<'a> {
    offset_delta: u32,
    timestamp: i64,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    headers: &'a [Header],
}

fn encode_entries<'a>(
    out: &mut Vec<u8>,
    base_offset: u64,
    entries: impl Iterator<Item = Entry<'a>>,
) {
    let start = out.len();
    out.extend_from_slice(&base_offset.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // length, filled in below
    out.extend_from_slice(&[0; 4]); // crc, filled in below
    out.push(MAGIC);
    out.extend_from_slice(&[0; 4]); // count, filled in below
    out.extend_from_slice(&[0; 4]); // last offset delta, filled in below
    out.extend_from_slice(&[0; 8]); // max timestamp, filled in below
    let bytes = |out: &mut Vec<u8>, b: Option<&[u8]>| match b {
        Some(b) => {
            // At most MAX_RECORD_BYTES: the store refuses larger records first.
            out.extend_from_slice(&(b.len() as i32).to_le_bytes());
            out.extend_from_slice(b);
        }
        None => out.extend_from_slice(&(-1i32).to_le_bytes()),
    };
    let (mut count, mut last_delta, mut max_timestamp) = (0u32, 0u32, -1i64);
    for e in entries {
        out.extend_from_slice(&e.offset_delta.to_le_bytes());
        out.extend_from_slice(&e.timestamp.to_le_bytes());
        bytes(out, e.key);
        bytes(out, e.value);
        out.extend_from_slice(&(e.headers.len() as u32).to_le_bytes());
        for h in e.headers {
            out.extend_from_slice(&(h.key.len() as u32).to_le_bytes());
            out.extend_from_slice(h.key.as_bytes());
            bytes(out, h.value.as_deref());
        }
        count += 1;
        last_delta = e.offset_delta;
        max_timestamp = max_timestamp.max(e.timestamp);
    }
    let fixed = start + PREFIX + 4 + 1;
    out[fixed..fixed + 4].copy_from_slice(&count.to_le_bytes());
    out[fixed + 4..fixed + 8].copy_from_slice(&last_delta.to_le_bytes());
    out[fixed + 8..fixed + 16].copy_from_slice(&max_timestamp.to_le_bytes());
    let length = (out.len() - start - PREFIX) as u32;
    out[start + 8..start + 12].copy_from_slice(&length.to_le_bytes());
    let crc = crc32c::crc32c(&out[start + PREFIX + 4..]);
    out[start + PREFIX..start + PREFIX + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Reads the fixed header at the start of `bytes`, without checking the CRC.
pub fn header(bytes: &[u8]) -> Result<BatchHeader, Invalid> {
    if bytes.len() < HEADER {
        return Err(Invalid::Truncated);
    }
    let base_offset = u64::from_le_bytes(array(&bytes[0..8]));
    let length = u32::from_le_bytes(array(&bytes[8..12])) as usize;
    if !(HEADER - PREFIX..=MAX_BATCH_BYTES).contains(&length) {
        return Err(Invalid::Corrupt(format!(
            "a batch length of {length} bytes"
        )));
    }
    if bytes[16] != MAGIC {
        return Err(Invalid::Corrupt(format!("magic byte {}", bytes[16])));
    }
    Ok(BatchHeader {
        base_offset,
        size: PREFIX + length,
        count: u32::from_le_bytes(array(&bytes[17..21])),
        last_offset_delta: u32::from_le_bytes(array(&bytes[21..25])),
        max_timestamp: i64::from_le_bytes(array(&bytes[25..33])),
    })
}

/// Checks a whole batch (its header, length and CRC) at the start of `bytes`.
pub fn check(bytes: &[u8]) -> Result<BatchHeader, Invalid> {
    let header = header(bytes)?;
    let Some(batch) = bytes.get(..header.size) else {
        return Err(Invalid::Truncated);
    };
    let stored = u32::from_le_bytes(array(&batch[PREFIX..PREFIX + 4]));
    let actual = crc32c::crc32c(&batch[PREFIX + 4..]);
    if stored != actual {
        return Err(Invalid::Corrupt(format!(
            "CRC {actual:#010x} where {stored:#010x} was written"
        )));
    }
    Ok(header)
}

/// The records of the checked batch at the start of `buffer[at..]` whose offsets are at least
/// `from`, as shared slices of `buffer`, appended to `out` while `keep` says so.
pub fn decode(
    buffer: &Bytes,
    at: usize,
    header: &BatchHeader,
    partition: u32,
    from: u64,
    out: &mut Vec<Record>,
    mut keep: impl FnMut(&Record) -> bool,
) -> Result<(), Invalid> {
    let end = at + header.size;
    let mut pos = at + HEADER;
    let corrupt = || Invalid::Corrupt("a record runs past its batch".to_string());
    let take = |pos: &mut usize, n: usize| -> Result<usize, Invalid> {
        let start = *pos;
        if start + n > end {
            return Err(corrupt());
        }
        *pos += n;
        Ok(start)
    };
    let int = |pos: &mut usize| -> Result<i32, Invalid> {
        let s = take(pos, 4)?;
        Ok(i32::from_le_bytes(array(&buffer[s..s + 4])))
    };
    let part = |pos: &mut usize| -> Result<Option<Bytes>, Invalid> {
        let len = int(pos)?;
        if len < 0 {
            return Ok(None);
        }
        let s = take(pos, len as usize)?;
        Ok(Some(buffer.slice(s..s + len as usize)))
    };
    for _ in 0..header.count {
        let delta = int(&mut pos)? as u32;
        let s = take(&mut pos, 8)?;
        let timestamp = i64::from_le_bytes(array(&buffer[s..s + 8]));
        let key = part(&mut pos)?;
        let value = part(&mut pos)?;
        let header_count = int(&mut pos)? as u32;
        let mut headers = Vec::new();
        for _ in 0..header_count {
            let key_len = int(&mut pos)? as u32 as usize;
            let s = take(&mut pos, key_len)?;
            let key = String::from_utf8_lossy(&buffer[s..s + key_len]).into_owned();
            let value = part(&mut pos)?.map(|v| v.to_vec());
            headers.push(Header { key, value });
        }
        let offset = header.base_offset + u64::from(delta);
        if offset < from {
            continue;
        }
        let record = Record {
            key,
            value,
            timestamp,
            headers,
            partition,
            offset,
        };
        if !keep(&record) {
            return Ok(());
        }
        out.push(record);
    }
    Ok(())
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: Option<&str>, value: Option<&str>, timestamp: i64) -> ProducerRecord {
        ProducerRecord {
            key: key.map(|k| k.as_bytes().to_vec()),
            value: value.map(|v| v.as_bytes().to_vec()),
            timestamp,
            ..Default::default()
        }
    }

    #[test]
    fn a_batch_decodes_to_what_was_encoded() {
        let mut with_headers = record(Some("k"), None, 3);
        with_headers.headers = vec![
            Header {
                key: "h".into(),
                value: Some(b"v".to_vec()),
            },
            Header {
                key: "n".into(),
                value: None,
            },
        ];
        let records = vec![
            record(None, Some("a"), 1),
            with_headers,
            record(Some(""), Some(""), 2),
        ];
        let mut out = vec![9, 9];
        encode(&mut out, 40, &records);
        assert_eq!(
            out.len() - 2,
            HEADER + records.iter().map(record_size).sum::<usize>()
        );
        let buffer = Bytes::from(out);
        let header = check(&buffer[2..]).unwrap();
        assert_eq!(
            (header.base_offset, header.count, header.max_timestamp),
            (40, 3, 3)
        );
        let mut decoded = Vec::new();
        decode(&buffer, 2, &header, 5, 41, &mut decoded, |_| true).unwrap();
        assert_eq!(decoded.len(), 2, "offset 40 is below `from`");
        assert_eq!(decoded[0].offset, 41);
        assert_eq!(decoded[0].partition, 5);
        assert_eq!(decoded[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(decoded[0].value, None);
        assert_eq!(decoded[0].headers, records[1].headers);
        assert_eq!(decoded[1].key.as_deref(), Some(&b""[..]));
    }

    #[test]
    fn a_compacted_batch_keeps_its_records_offsets() {
        let mut out = Vec::new();
        encode(
            &mut out,
            10,
            &[record(Some("a"), Some("1"), 5), record(Some("b"), None, 6)],
        );
        let buffer = Bytes::from(out);
        let header = check(&buffer).unwrap();
        let mut all = Vec::new();
        decode(&buffer, 0, &header, 0, 0, &mut all, |_| true).unwrap();
        let mut kept = vec![all[1].clone()];
        kept[0].offset = 17;
        kept.insert(0, all[0].clone());
        let mut out = Vec::new();
        encode_records(&mut out, &kept);
        let buffer = Bytes::from(out);
        let header = check(&buffer).unwrap();
        assert_eq!(
            (header.base_offset, header.count, header.next_offset()),
            (10, 2, 18)
        );
        let mut decoded = Vec::new();
        decode(&buffer, 0, &header, 0, 11, &mut decoded, |_| true).unwrap();
        assert_eq!(decoded.len(), 1);
        assert_eq!((decoded[0].offset, decoded[0].value.clone()), (17, None));
    }

    #[test]
    fn a_torn_or_flipped_batch_is_caught() {
        let mut out = Vec::new();
        encode(&mut out, 0, &[record(Some("k"), Some("value"), 1)]);
        assert_eq!(check(&out[..out.len() - 1]), Err(Invalid::Truncated));
        assert_eq!(check(&out[..10]), Err(Invalid::Truncated));
        let last = out.len() - 1;
        out[last] ^= 1;
        assert!(matches!(check(&out), Err(Invalid::Corrupt(_))));
    }
}
