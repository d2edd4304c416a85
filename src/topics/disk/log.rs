//! One partition on disk: a directory of segment files, each a run of record batches named by
//! its first offset (`00000000000000000000.log`), with a sparse offset index beside it
//! (`.index`). Appends go to the last (active) segment; a segment that reaches
//! `segment_bytes` is synced, its index written, and a new one started.
//!
//! Reads take the lock only to find where to read, then read without it: what lies below the
//! end they saw never changes. Each segment is memory-mapped once, for as long as it may grow,
//! and a fetch hands out records whose keys and values are slices of the map: the log's bytes
//! stay in the page cache, never copied into the heap.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use bytes::Bytes;
use memmap2::{Mmap, MmapOptions, UncheckedAdvice};

use super::batch::{self, BatchHeader, Invalid};
use crate::topics::{FetchLimits, Fetched, ProducerRecord};

/// Bytes of log between two entries of the offset index.
const INDEX_INTERVAL: u64 = 4096;
/// After this many bytes are fetched from a partition, the pages its readers touched are
/// unmapped from the process (they stay in the page cache), so a reader of a long log does not
/// hold it all in its resident set.
const RELEASE_EVERY: u64 = 64 * 1024 * 1024;
/// The index file's format: offset, position and time entries.
const INDEX_MAGIC: &[u8; 4] = b"SLI2";

/// Failures of one partition's files.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: the batch at byte {position} is corrupt: {reason}")]
    Corrupt {
        path: PathBuf,
        position: u64,
        reason: String,
    },
    #[error("offset {0} is below the log's start")]
    OutOfRange(u64),
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One entry of the offset index: a batch starts at `position`, its first offset
/// `base + relative`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IndexEntry {
    relative: u32,
    position: u32,
    /// The largest timestamp of the records before this batch in the segment (-1: none), so
    /// every record before it is older than any timestamp above this (a time index).
    max_timestamp_before: i64,
}

#[derive(Debug)]
struct Segment {
    base_offset: u64,
    path: PathBuf,
    file: Arc<File>,
    /// The file mapped to its greatest possible size (see [`map_segment`]).
    map: Arc<Mmap>,
    /// Bytes written.
    size: u64,
    next_offset: u64,
    max_timestamp: i64,
    index: Vec<IndexEntry>,
    /// Where the last index entry points.
    indexed_at: Option<u64>,
    /// Up to where the operating system was asked to start writing the file back.
    writeback_from: u64,
}

impl Segment {
    fn log_path(dir: &Path, base_offset: u64) -> PathBuf {
        dir.join(format!("{base_offset:020}.log"))
    }

    fn index_path(&self) -> PathBuf {
        self.path.with_extension("index")
    }

    fn create(dir: &Path, base_offset: u64, capacity: u64) -> Result<Segment, LogError> {
        let path = Segment::log_path(dir, base_offset);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(io_error(&path))?;
        sync_dir(dir)?;
        let map = map_segment(&file, &path, capacity)?;
        Ok(Segment {
            base_offset,
            path,
            file: Arc::new(file),
            map,
            size: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            index: Vec::new(),
            indexed_at: None,
            writeback_from: 0,
        })
    }

    /// Opens a segment: a sealed one trusts its index file when it matches the log, the active
    /// one (or one without a good index) is read through, batch by batch, and cut at the first
    /// torn or corrupt batch.
    fn open(
        path: PathBuf,
        base_offset: u64,
        active: bool,
        capacity: u64,
    ) -> Result<Segment, LogError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io_error(&path))?;
        let size = file.metadata().map_err(io_error(&path))?.len();
        // Recovery may cut the file after it is mapped: nothing reads the map before recovery
        // has set the end that readers stay below.
        let map = map_segment(&file, &path, capacity.max(size))?;
        let mut segment = Segment {
            base_offset,
            path,
            file: Arc::new(file),
            map,
            size,
            next_offset: base_offset,
            max_timestamp: -1,
            index: Vec::new(),
            indexed_at: None,
            writeback_from: size,
        };
        if active || !segment.load_index() {
            segment.recover()?;
            if !active {
                segment.write_index()?;
            }
        }
        segment.writeback_from = segment.size;
        Ok(segment)
    }

    /// Reads every batch, checking each; cuts the file after the last good one.
    fn recover(&mut self) -> Result<(), LogError> {
        let file_size = self.size;
        let (mut position, mut next, mut max_ts) = (0u64, self.base_offset, -1i64);
        self.index.clear();
        self.indexed_at = None;
        let mut buffer = Vec::new();
        let cut = loop {
            if position == file_size {
                break None;
            }
            let mut head = [0u8; batch::HEADER];
            let available = (file_size - position).min(batch::HEADER as u64) as usize;
            read_at(&self.file, &self.path, &mut head[..available], position)?;
            let header = match batch::header(&head[..available]) {
                Ok(h) => h,
                Err(e) => break Some(e),
            };
            if position + header.size as u64 > file_size {
                break Some(Invalid::Truncated);
            }
            buffer.resize(header.size, 0);
            read_at(&self.file, &self.path, &mut buffer, position)?;
            if let Err(e) = batch::check(&buffer) {
                break Some(e);
            }
            self.note_batch(&header, position);
            next = header.next_offset();
            max_ts = max_ts.max(header.max_timestamp);
            position += header.size as u64;
        };
        self.size = position;
        self.next_offset = next;
        self.max_timestamp = max_ts;
        if let Some(reason) = cut {
            let what = match reason {
                Invalid::Truncated => "a write that did not finish".to_string(),
                Invalid::Corrupt(r) => format!("corrupt ({r})"),
            };
            tracing::warn!(
                "{}: the log ends in {what} at byte {position} of {file_size}; cutting it there \
                 (the records after offset {next} were never acknowledged)",
                self.path.display()
            );
            eprintln!(
                "warning: {}: cut a torn tail at byte {position} of {file_size} ({what})",
                self.path.display()
            );
            self.file.set_len(position).map_err(io_error(&self.path))?;
            self.file.sync_all().map_err(io_error(&self.path))?;
        }
        Ok(())
    }

    /// Indexes a batch written at `position` when the last entry is far enough behind.
    fn note_batch(&mut self, header: &BatchHeader, position: u64) {
        let due = self
            .indexed_at
            .is_none_or(|at| position >= at + INDEX_INTERVAL);
        if due {
            self.index.push(IndexEntry {
                // A segment holds at most u32::MAX bytes, so fewer records than that.
                relative: (header.base_offset - self.base_offset) as u32,
                position: position as u32,
                max_timestamp_before: self.max_timestamp,
            });
            self.indexed_at = Some(position);
        }
        self.max_timestamp = self.max_timestamp.max(header.max_timestamp);
    }

    /// Where to start looking for the first record at or after `timestamp`: the first offset
    /// of the last indexed batch before which every record is older.
    fn offset_before_time(&self, timestamp: i64) -> u64 {
        let i = self
            .index
            .partition_point(|e| e.max_timestamp_before < timestamp);
        i.checked_sub(1).map_or(self.base_offset, |i| {
            self.base_offset + u64::from(self.index[i].relative)
        })
    }

    /// Where to start reading for `offset`: the last indexed batch at or before it.
    fn position_for(&self, offset: u64) -> u64 {
        let relative = offset.saturating_sub(self.base_offset);
        let i = self
            .index
            .partition_point(|e| u64::from(e.relative) <= relative);
        i.checked_sub(1)
            .map_or(0, |i| u64::from(self.index[i].position))
    }

    fn write_index(&self) -> Result<(), LogError> {
        let mut out = Vec::with_capacity(48 + self.index.len() * 16);
        out.extend_from_slice(INDEX_MAGIC);
        out.extend_from_slice(&self.base_offset.to_le_bytes());
        out.extend_from_slice(&self.next_offset.to_le_bytes());
        out.extend_from_slice(&self.max_timestamp.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&(self.index.len() as u64).to_le_bytes());
        for e in &self.index {
            out.extend_from_slice(&e.relative.to_le_bytes());
            out.extend_from_slice(&e.position.to_le_bytes());
            out.extend_from_slice(&e.max_timestamp_before.to_le_bytes());
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        let path = self.index_path();
        write_atomically(&path, &out)
    }

    /// Takes the index file when it is whole and describes the log as it is.
    fn load_index(&mut self) -> bool {
        let Ok(bytes) = fs::read(self.index_path()) else {
            return false;
        };
        let parsed = (|| {
            let (body, crc) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
            if crc32c::crc32c(body) != u32::from_le_bytes(crc.try_into().ok()?) {
                return None;
            }
            let word =
                |i: usize| -> Option<[u8; 8]> { body.get(4 + i * 8..12 + i * 8)?.try_into().ok() };
            if body.get(..4)? != INDEX_MAGIC {
                return None;
            }
            let base = u64::from_le_bytes(word(0)?);
            let next = u64::from_le_bytes(word(1)?);
            let max_ts = i64::from_le_bytes(word(2)?);
            let size = u64::from_le_bytes(word(3)?);
            let count = usize::try_from(u64::from_le_bytes(word(4)?)).ok()?;
            let entries = body.get(44..)?;
            if entries.len() != count.checked_mul(16)? {
                return None;
            }
            let index = entries
                .chunks_exact(16)
                .map(|c| IndexEntry {
                    relative: u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                    position: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                    max_timestamp_before: i64::from_le_bytes([
                        c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15],
                    ]),
                })
                .collect::<Vec<_>>();
            Some((base, next, max_ts, size, index))
        })();
        match parsed {
            Some((base, next, max_ts, size, index))
                if base == self.base_offset && size == self.size =>
            {
                self.next_offset = next;
                self.max_timestamp = max_ts;
                self.indexed_at = index.last().map(|e| u64::from(e.position));
                self.index = index;
                true
            }
            _ => false,
        }
    }
}

/// Maps a segment file read-only over `capacity` bytes, however long the file is now.
///
/// The map is made once and stays valid as the file grows (the pages are the page cache's,
/// shared with the writes). Touching a page past the file's end would fault, so readers only
/// ever read below the end they saw under the lock, and a file is never cut below that end
/// while mapped: recovery cuts before anything reads, and a failed append cuts back to the end
/// it started from, beyond anything published.
fn map_segment(file: &File, path: &Path, capacity: u64) -> Result<Arc<Mmap>, LogError> {
    let len = usize::try_from(capacity).map_err(|_| LogError::Io {
        path: path.to_path_buf(),
        source: io::Error::other("a segment larger than the address space"),
    })?;
    // SAFETY: see above: no byte beyond the file's current end is ever read, and the file is
    // never shortened below what readers read while the map exists; no other process writes
    // the data directory (its lock is held).
    let map = unsafe { MmapOptions::new().len(len.max(1)).map(file) }.map_err(io_error(path))?;
    Ok(Arc::new(map))
}

/// A range of a segment's map, as the owner of a fetch's bytes.
struct Mapped {
    map: Arc<Mmap>,
    start: usize,
    end: usize,
}

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        &self.map[self.start..self.end]
    }
}

fn read_at(file: &File, path: &Path, buffer: &mut [u8], position: u64) -> Result<(), LogError> {
    file.read_exact_at(buffer, position).map_err(io_error(path))
}

/// Bytes appended between two requests to start writing a segment back (see
/// [`Segment::start_writeback`]).
const WRITEBACK_EVERY: u64 = 1024 * 1024;

impl Segment {
    /// Asks the operating system to start writing the appended bytes to disk now, without
    /// waiting for it, so that the sync that acknowledges them (or a task's commit) finds most
    /// of them written and does not stall on the whole interval's bytes at once.
    fn start_writeback(&mut self) {
        let pending = self.size.saturating_sub(self.writeback_from);
        if pending < WRITEBACK_EVERY {
            return;
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let (from, len) = (
                i64::try_from(self.writeback_from).unwrap_or(i64::MAX),
                i64::try_from(pending).unwrap_or(i64::MAX),
            );
            // SAFETY: a plain system call on a file descriptor this segment owns; it reads
            // no memory of ours. A failure only means the later sync does all the work.
            let started = unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    from,
                    len,
                    libc::SYNC_FILE_RANGE_WRITE,
                )
            };
            if started != 0 {
                tracing::debug!("{}: sync_file_range failed", self.path.display());
            }
        }
        self.writeback_from = self.size;
    }
}

/// How far a segment may grow, and so how much of it is mapped: its size limit and one more
/// batch, which may overrun it.
fn capacity(segment_bytes: u64) -> u64 {
    segment_bytes + batch::MAX_BATCH_BYTES as u64
}

/// Makes a directory's entries (a new or renamed file) durable.
pub fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

/// Writes a file whole or not at all: to a temporary name, synced, then renamed over.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LogError> {
    let temporary = path.with_extension("tmp");
    let write = || -> io::Result<()> {
        let file = File::create(&temporary)?;
        file.write_all_at(bytes, 0)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    };
    write().map_err(io_error(path))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// A partition's segments and where it ends.
#[derive(Debug)]
struct State {
    segments: Vec<Segment>,
    /// Where a transaction being written started: readers see the log up to here only, until
    /// it is published or cut off.
    fence: Option<Fence>,
}

/// The end of what readers see while a transaction is written past it.
#[derive(Debug, Clone, Copy)]
struct Fence {
    offset: u64,
    /// The segment the transaction started in, and the byte there where it started.
    segment_base: u64,
    position: u64,
}

impl State {
    fn active(&self) -> &Segment {
        // A log always has a segment: `open` creates one when there is none, and retention
        // never removes the last.
        &self.segments[self.segments.len() - 1]
    }

    fn next_offset(&self) -> u64 {
        self.active().next_offset
    }

    fn start_offset(&self) -> u64 {
        self.segments[0].base_offset
    }

    /// The end of what readers may see: the next offset, or where a transaction being written
    /// started.
    fn visible_end(&self) -> u64 {
        self.fence.map_or_else(|| self.next_offset(), |f| f.offset)
    }
}

/// One partition's log.
#[derive(Debug)]
pub struct PartitionLog {
    dir: PathBuf,
    partition: u32,
    segment_bytes: u64,
    state: RwLock<State>,
    /// Held by whoever appends: a producer for one append, a transaction for all of its
    /// appends, so nothing else lands between a transaction's records.
    writer: Mutex<()>,
    /// Held while syncing, so concurrent producers share one sync (group commit).
    sync: Mutex<()>,
    /// Every offset below this is on disk.
    synced: AtomicU64,
    /// Bytes fetched since the mapped pages were last released (see [`RELEASE_EVERY`]).
    fetched: AtomicU64,
    /// The sealed segments below this offset were compacted last time.
    compacted_to: AtomicU64,
}

/// Where to read for a fetch, found under the lock.
struct ReadPlan {
    map: Arc<Mmap>,
    path: PathBuf,
    position: u64,
    end: u64,
    high_watermark: u64,
}

impl PartitionLog {
    /// Opens (or creates) the partition in `dir`, recovering its active segment.
    pub fn open(
        dir: PathBuf,
        partition: u32,
        segment_bytes: u64,
    ) -> Result<PartitionLog, LogError> {
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let names: Vec<String> = fs::read_dir(&dir)
            .map_err(io_error(&dir))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        for name in names.iter().filter(|n| n.ends_with(".cleaned")) {
            // A compaction that a crash interrupted before it swapped the file in.
            let path = dir.join(name);
            fs::remove_file(&path).map_err(io_error(&path))?;
        }
        let mut bases: Vec<u64> = names
            .iter()
            .filter_map(|name| name.strip_suffix(".log")?.parse::<u64>().ok())
            .collect();
        bases.sort_unstable();
        let mut segments = Vec::with_capacity(bases.len().max(1));
        for (i, &base) in bases.iter().enumerate() {
            let active = i + 1 == bases.len();
            segments.push(Segment::open(
                Segment::log_path(&dir, base),
                base,
                active,
                capacity(segment_bytes),
            )?);
        }
        if segments.is_empty() {
            segments.push(Segment::create(&dir, 0, capacity(segment_bytes))?);
        }
        let state = State {
            segments,
            fence: None,
        };
        let synced = AtomicU64::new(state.next_offset());
        Ok(PartitionLog {
            dir,
            partition,
            // An index position is 32 bits; one batch may overrun the size.
            segment_bytes: segment_bytes
                .clamp(4096, u64::from(u32::MAX) - batch::MAX_BATCH_BYTES as u64),
            state: RwLock::new(state),
            writer: Mutex::new(()),
            sync: Mutex::new(()),
            synced,
            fetched: AtomicU64::new(0),
            compacted_to: AtomicU64::new(0),
        })
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The first offset held and the end of what readers see (the next offset to be written,
    /// unless a transaction is being written).
    pub fn offsets(&self) -> (u64, u64) {
        let state = self.read_state();
        (state.start_offset(), state.visible_end())
    }

    /// Appends records as batches of about [`batch::TARGET_BATCH_BYTES`]; returns the first
    /// record's offset. Written, readable, not yet synced: see [`PartitionLog::sync_to`]. A
    /// failed write is cut back off, so the log holds whole batches only.
    pub fn append(&self, records: &[ProducerRecord]) -> Result<u64, LogError> {
        let _writing = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.append_held(records)
    }

    /// Starts writing a transaction: takes the writer's place until it is published or
    /// aborted, and hides whatever it appends from readers until it is published.
    pub fn begin_transaction(&self) -> PartitionTransaction<'_> {
        let writing = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let active = state.active();
        let fence = Fence {
            offset: active.next_offset,
            segment_base: active.base_offset,
            position: active.size,
        };
        state.fence = Some(fence);
        PartitionTransaction {
            log: self,
            _writing: writing,
            start: fence.offset,
            open: true,
        }
    }

    /// Cuts the log back to end before `offset`, a batch boundary: the records of a
    /// transaction that was aborted, or that a crash cut short (nothing has read them).
    pub fn truncate_to(&self, offset: u64) -> Result<(), LogError> {
        let removed: Vec<Segment> = {
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            state.fence = None;
            if state.next_offset() <= offset {
                return Ok(());
            }
            let keep = state
                .segments
                .partition_point(|s| s.base_offset <= offset)
                .max(1);
            let removed = state.segments.split_off(keep);
            let last = state.segments.last_mut().expect("a log has a segment");
            let mut position = last.position_for(offset);
            let mut head = [0u8; batch::HEADER];
            while position + batch::HEADER as u64 <= last.size {
                read_at(&last.file, &last.path, &mut head, position)?;
                let header = batch::header(&head).map_err(|e| corrupt(&last.path, position, e))?;
                if header.base_offset >= offset {
                    break;
                }
                position += header.size as u64;
            }
            last.file.set_len(position).map_err(io_error(&last.path))?;
            last.file.sync_all().map_err(io_error(&last.path))?;
            last.size = position;
            last.writeback_from = last.writeback_from.min(position);
            // The segment is the active one again: it is read through at the next start.
            let index = last.index_path();
            if let Err(e) = fs::remove_file(&index)
                && e.kind() != io::ErrorKind::NotFound
            {
                return Err(io_error(&index)(e));
            }
            last.recover()?;
            self.synced.fetch_min(last.next_offset, Ordering::AcqRel);
            removed
        };
        for segment in &removed {
            for path in [segment.path.clone(), segment.index_path()] {
                if let Err(e) = fs::remove_file(&path)
                    && e.kind() != io::ErrorKind::NotFound
                {
                    return Err(io_error(&path)(e));
                }
            }
        }
        sync_dir(&self.dir)
    }

    fn append_held(&self, records: &[ProducerRecord]) -> Result<u64, LogError> {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let first = state.next_offset();
        let mut buffer = Vec::with_capacity(
            records
                .iter()
                .map(batch::record_size)
                .sum::<usize>()
                .min(8 << 20)
                + batch::HEADER,
        );
        let mut start = 0;
        while start < records.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < records.len() && (end == start || bytes < batch::TARGET_BATCH_BYTES) {
                bytes += batch::record_size(&records[end]);
                end += 1;
            }
            let chunk = &records[start..end];
            let needed = (batch::HEADER + bytes) as u64;
            if state.active().size > 0 && state.active().size + needed > self.segment_bytes {
                self.roll(&mut state)?;
            }
            let active = state.segments.last_mut().expect("a log has a segment");
            buffer.clear();
            batch::encode(&mut buffer, active.next_offset, chunk);
            let position = active.size;
            if let Err(e) = active.file.write_all_at(&buffer, position) {
                // Cut whatever part was written, so the log ends in whole batches.
                let _ = active.file.set_len(position);
                return Err(io_error(&active.path)(e));
            }
            let header = batch::header(&buffer).map_err(|e| LogError::Corrupt {
                path: active.path.clone(),
                position,
                reason: format!("{e:?}"),
            })?;
            active.size += buffer.len() as u64;
            active.next_offset = header.next_offset();
            active.note_batch(&header, position);
            start = end;
        }
        if let Some(active) = state.segments.last_mut() {
            active.start_writeback();
        }
        Ok(first)
    }

    /// Seals the active segment (synced, index written) and starts the next.
    fn roll(&self, state: &mut State) -> Result<(), LogError> {
        let active = state.active();
        active.file.sync_data().map_err(io_error(&active.path))?;
        active.write_index()?;
        let next = Segment::create(&self.dir, active.next_offset, capacity(self.segment_bytes))?;
        state.segments.push(next);
        Ok(())
    }

    /// Makes every record below `offset` durable. Producers that wait together share one
    /// sync: whoever syncs covers everything written so far.
    pub fn sync_to(&self, offset: u64) -> Result<(), LogError> {
        if self.synced.load(Ordering::Acquire) >= offset {
            return Ok(());
        }
        let _syncing = self.sync.lock().unwrap_or_else(|e| e.into_inner());
        if self.synced.load(Ordering::Acquire) >= offset {
            return Ok(());
        }
        let (file, path, written) = {
            let state = self.read_state();
            let active = state.active();
            (
                Arc::clone(&active.file),
                active.path.clone(),
                active.next_offset,
            )
        };
        file.sync_data().map_err(io_error(&path))?;
        self.synced.fetch_max(written, Ordering::AcqRel);
        Ok(())
    }

    /// Makes everything written so far durable.
    pub fn sync(&self) -> Result<(), LogError> {
        let next = self.read_state().next_offset();
        self.sync_to(next)
    }

    /// Records from `offset` on, within `limits`.
    pub fn fetch(&self, offset: u64, limits: FetchLimits) -> Result<Fetched, LogError> {
        let Some(plan) = self.plan_read(offset)? else {
            return Ok(Fetched {
                records: Vec::new(),
                high_watermark: self.read_state().visible_end(),
            });
        };
        let mut records = Vec::new();
        let (mut taken, mut bytes_taken) = (0usize, 0usize);
        // Positions below the segment's capacity, which fits in memory: `map_segment` said so.
        let region = Bytes::from_owner(Mapped {
            map: plan.map,
            start: plan.position as usize,
            end: plan.end as usize,
        });
        let mut at = 0usize;
        let mut full = false;
        while at < region.len() && !full {
            let position = plan.position + at as u64;
            let header =
                batch::header(&region[at..]).map_err(|e| corrupt(&plan.path, position, e))?;
            if at + header.size > region.len() {
                return Err(corrupt(&plan.path, position, Invalid::Truncated));
            }
            if header.next_offset() > offset {
                batch::check(&region[at..at + header.size])
                    .map_err(|e| corrupt(&plan.path, position, e))?;
                batch::decode(
                    &region,
                    at,
                    &header,
                    self.partition,
                    offset,
                    &mut records,
                    |r| {
                        let size = r.key.as_ref().map_or(0, |k| k.len())
                            + r.value.as_ref().map_or(0, |v| v.len());
                        // The first record is taken whatever its size.
                        let fits = taken == 0
                            || (taken < limits.max_records
                                && bytes_taken.saturating_add(size) <= limits.max_bytes);
                        if fits {
                            taken += 1;
                            bytes_taken += size;
                        } else {
                            full = true;
                        }
                        fits
                    },
                )
                .map_err(|e| corrupt(&plan.path, position, e))?;
                full |= taken >= limits.max_records;
            }
            at += header.size;
        }
        let fetched = self.fetched.fetch_add(at as u64, Ordering::Relaxed) + at as u64;
        if fetched >= RELEASE_EVERY {
            self.fetched.store(0, Ordering::Relaxed);
            self.release_mapped_pages();
        }
        Ok(Fetched {
            records,
            high_watermark: plan.high_watermark,
        })
    }

    /// Unmaps from the process the pages its readers touched in every segment; they stay in
    /// the page cache.
    fn release_mapped_pages(&self) {
        let maps: Vec<(Arc<Mmap>, PathBuf)> = self
            .read_state()
            .segments
            .iter()
            .map(|s| (Arc::clone(&s.map), s.path.clone()))
            .collect();
        for (map, path) in maps {
            // SAFETY: MADV_DONTNEED on a shared, read-only file mapping only drops the
            // process's page-table entries: a later access, by this reader or a concurrent
            // one, faults the same bytes in again from the page cache.
            if let Err(e) = unsafe { map.unchecked_advise(UncheckedAdvice::DontNeed) } {
                tracing::debug!("{}: cannot release mapped pages: {e}", path.display());
            }
        }
    }

    /// The earliest offset whose record's timestamp is at or after `timestamp` (Kafka's
    /// ListOffsets by time), or `None` when every record is older. The segments' largest
    /// timestamps and the time index narrow the search to a few batches.
    pub fn offset_for_time(&self, timestamp: i64) -> Result<Option<u64>, LogError> {
        let (from, end) = {
            let state = self.read_state();
            let Some(segment) = state.segments.iter().find(|s| s.max_timestamp >= timestamp) else {
                return Ok(None);
            };
            (
                segment
                    .offset_before_time(timestamp)
                    .max(state.start_offset()),
                state.visible_end(),
            )
        };
        let mut found = None;
        let mut next = from;
        while found.is_none() && next < end {
            let fetched = self.fetch(next, FetchLimits::records(4096))?;
            if fetched.records.is_empty() {
                break;
            }
            next = fetched.next_offset(next);
            found = fetched
                .records
                .iter()
                .find(|r| r.timestamp >= timestamp)
                .map(|r| r.offset);
        }
        Ok(found)
    }

    /// Compacts the sealed segments (`cleanup.policy=compact`): keeps, of each key, only its
    /// latest record in the whole log, and drops tombstones older than `delete_retention_ms`
    /// before `now`; records keep their offsets. Each rewritten segment is swapped in whole
    /// (written aside, synced, renamed over); readers of the old one read on undisturbed.
    /// Returns how many records were dropped.
    pub fn compact(&self, now: i64, delete_retention_ms: u64) -> Result<u64, LogError> {
        let (sealed, end) = {
            let state = self.read_state();
            // Only what readers see: a transaction being written is not yet in the log.
            let end = state.visible_end();
            let sealed: Vec<(u64, u64)> = state.segments[..state.segments.len() - 1]
                .iter()
                .filter(|s| s.next_offset <= end)
                .map(|s| (s.base_offset, s.next_offset))
                .collect();
            (sealed, end)
        };
        let Some(&(_, sealed_end)) = sealed.last() else {
            return Ok(0);
        };
        if self.compacted_to.load(Ordering::Acquire) >= sealed_end {
            return Ok(0);
        }
        // The latest offset of each key, over the log as it is now.
        let mut latest: std::collections::HashMap<Bytes, u64, foldhash::fast::RandomState> =
            std::collections::HashMap::default();
        self.for_each_record(self.offsets().0, end, |r| {
            if let Some(key) = &r.key {
                latest.insert(key.clone(), r.offset);
            }
        })?;
        let expired_before =
            now.saturating_sub(i64::try_from(delete_retention_ms).unwrap_or(i64::MAX));
        let mut dropped = 0u64;
        for (base, next) in sealed {
            let mut kept = Vec::new();
            let mut total = 0u64;
            self.for_each_record(base, next, |r| {
                total += 1;
                let latest_of_key = r
                    .key
                    .as_ref()
                    .is_none_or(|k| latest.get(k) == Some(&r.offset));
                let expired_tombstone = r.value.is_none() && r.timestamp < expired_before;
                if latest_of_key && !expired_tombstone {
                    kept.push(r.clone());
                }
            })?;
            if kept.len() as u64 == total {
                continue;
            }
            dropped += total - kept.len() as u64;
            self.swap_segment(base, &kept)?;
        }
        self.compacted_to.fetch_max(sealed_end, Ordering::AcqRel);
        Ok(dropped)
    }

    /// Calls `visit` with every record from `from` up to `to`.
    pub fn for_each_record(
        &self,
        from: u64,
        to: u64,
        mut visit: impl FnMut(&crate::topics::Record),
    ) -> Result<(), LogError> {
        let mut next = from;
        while next < to {
            let fetched = self.fetch(next, FetchLimits::records(4096))?;
            if fetched.records.is_empty() {
                break;
            }
            next = fetched.next_offset(next);
            for record in fetched.records.iter().filter(|r| r.offset < to) {
                visit(record);
            }
        }
        Ok(())
    }

    /// Replaces the sealed segment that starts at `base` by one holding only `kept` (none:
    /// the segment goes).
    fn swap_segment(&self, base: u64, kept: &[crate::topics::Record]) -> Result<(), LogError> {
        let path = Segment::log_path(&self.dir, base);
        if kept.is_empty() {
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            let last = state.segments.len() - 1;
            if let Some(i) = state.segments[..last]
                .iter()
                .position(|s| s.base_offset == base)
            {
                let segment = state.segments.remove(i);
                drop(state);
                for path in [segment.path.clone(), segment.index_path()] {
                    if let Err(e) = fs::remove_file(&path)
                        && e.kind() != io::ErrorKind::NotFound
                    {
                        return Err(io_error(&path)(e));
                    }
                }
            }
            return Ok(());
        }
        let cleaned = path.with_extension("cleaned");
        let mut bytes = Vec::new();
        let mut start = 0;
        while start < kept.len() {
            let mut end = start;
            let mut size = 0;
            while end < kept.len() && (end == start || size < batch::TARGET_BATCH_BYTES) {
                let r = &kept[end];
                size += 32
                    + r.key.as_ref().map_or(0, |k| k.len())
                    + r.value.as_ref().map_or(0, |v| v.len());
                end += 1;
            }
            batch::encode_records(&mut bytes, &kept[start..end]);
            start = end;
        }
        write_atomically(&cleaned, &bytes)?;
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let last = state.segments.len() - 1;
        let Some(i) = state.segments[..last]
            .iter()
            .position(|s| s.base_offset == base)
        else {
            // Deleted by retention meanwhile.
            drop(state);
            let _ = fs::remove_file(&cleaned);
            return Ok(());
        };
        fs::rename(&cleaned, &path).map_err(io_error(&path))?;
        let index = state.segments[i].index_path();
        if let Err(e) = fs::remove_file(&index)
            && e.kind() != io::ErrorKind::NotFound
        {
            return Err(io_error(&index)(e));
        }
        sync_dir(&self.dir)?;
        state.segments[i] = Segment::open(path, base, false, capacity(self.segment_bytes))?;
        Ok(())
    }

    /// Finds the segment and position to read `offset` from, or `None` at the end.
    fn plan_read(&self, offset: u64) -> Result<Option<ReadPlan>, LogError> {
        let state = self.read_state();
        if offset < state.start_offset() {
            return Err(LogError::OutOfRange(offset));
        }
        let high_watermark = state.visible_end();
        if offset >= high_watermark {
            return Ok(None);
        }
        // The first segment that still has records at or after `offset`.
        let i = state.segments.partition_point(|s| s.next_offset <= offset);
        let Some(segment) = state.segments.get(i) else {
            return Ok(None);
        };
        let end = match state.fence {
            Some(fence) if fence.segment_base == segment.base_offset => fence.position,
            _ => segment.size,
        };
        Ok(Some(ReadPlan {
            map: Arc::clone(&segment.map),
            path: segment.path.clone(),
            position: segment.position_for(offset),
            end,
            high_watermark,
        }))
    }

    /// Deletes sealed segments that retention no longer keeps: those whose newest record is
    /// older than `retention_ms` before `now`, and the oldest while the partition holds more
    /// than `retention_bytes`. Returns how many were deleted.
    pub fn apply_retention(
        &self,
        now: i64,
        retention_ms: Option<u64>,
        retention_bytes: Option<u64>,
    ) -> Result<usize, LogError> {
        let removed: Vec<Segment> = {
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            let mut total: u64 = state.segments.iter().map(|s| s.size).sum();
            let mut count = 0;
            while count + 1 < state.segments.len() {
                let s = &state.segments[count];
                let expired = retention_ms.is_some_and(|ms| {
                    s.max_timestamp < now.saturating_sub(i64::try_from(ms).unwrap_or(i64::MAX))
                });
                let oversized = retention_bytes.is_some_and(|limit| total - s.size >= limit);
                if !(expired || oversized) {
                    break;
                }
                total -= s.size;
                count += 1;
            }
            state.segments.drain(..count).collect()
        };
        for segment in &removed {
            for path in [segment.path.clone(), segment.index_path()] {
                if let Err(e) = fs::remove_file(&path)
                    && e.kind() != io::ErrorKind::NotFound
                {
                    return Err(io_error(&path)(e));
                }
            }
        }
        Ok(removed.len())
    }
}

/// A transaction's hold on one partition: its appends, hidden from readers until
/// [`PartitionTransaction::publish`]; dropped unpublished, they are cut off again.
pub struct PartitionTransaction<'a> {
    log: &'a PartitionLog,
    _writing: MutexGuard<'a, ()>,
    start: u64,
    open: bool,
}

impl PartitionTransaction<'_> {
    /// Where the transaction's records start in this partition.
    pub fn start(&self) -> u64 {
        self.start
    }

    pub fn append(&self, records: &[ProducerRecord]) -> Result<u64, LogError> {
        self.log.append_held(records)
    }

    pub fn sync(&self) -> Result<(), LogError> {
        self.log.sync()
    }

    /// Shows the transaction's records to readers.
    pub fn publish(mut self) {
        self.open = false;
        self.log
            .state
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .fence = None;
    }

    /// Cuts the transaction's records off.
    pub fn abort(mut self) -> Result<(), LogError> {
        self.open = false;
        self.log.truncate_to(self.start)
    }
}

impl Drop for PartitionTransaction<'_> {
    fn drop(&mut self) {
        if self.open
            && let Err(e) = self.log.truncate_to(self.start)
        {
            tracing::error!(
                "{}: cannot cut off an aborted transaction's records: {e}",
                self.log.dir.display()
            );
        }
    }
}

fn corrupt(path: &Path, position: u64, e: Invalid) -> LogError {
    LogError::Corrupt {
        path: path.to_path_buf(),
        position,
        reason: match e {
            Invalid::Truncated => "it ends early".to_string(),
            Invalid::Corrupt(r) => r,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::Record;

    fn records(from: usize, n: usize) -> Vec<ProducerRecord> {
        (from..from + n)
            .map(|i| ProducerRecord {
                key: Some(format!("k{i}").into_bytes()),
                value: Some(format!("value {i}").into_bytes()),
                timestamp: i as i64,
                ..Default::default()
            })
            .collect()
    }

    fn all(log: &PartitionLog) -> Vec<Record> {
        let mut out = Vec::new();
        let mut next = log.offsets().0;
        loop {
            let fetched = log.fetch(next, FetchLimits::records(1000)).unwrap();
            if fetched.records.is_empty() {
                return out;
            }
            next = fetched.next_offset(next);
            out.extend(fetched.records);
        }
    }

    #[test]
    fn a_transaction_is_hidden_until_published_and_an_abort_cuts_it_off_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(dir.path().to_path_buf(), 0, 4096).unwrap();
        log.append(&records(0, 10)).unwrap();
        let transaction = log.begin_transaction();
        assert_eq!(transaction.start(), 10);
        // Far more than a segment: the transaction rolls several.
        transaction.append(&records(10, 500)).unwrap();
        assert_eq!(log.offsets(), (0, 10));
        let seen = all(&log);
        assert_eq!(seen.len(), 10, "a reader saw a transaction being written");
        assert_eq!(
            log.fetch(10, FetchLimits::records(10))
                .unwrap()
                .high_watermark,
            10
        );
        transaction.abort().unwrap();
        assert_eq!(log.offsets(), (0, 10));
        assert_eq!(all(&log).len(), 10);
        // The log goes on from where the transaction started, and so does it after a reopen.
        assert_eq!(log.append(&records(10, 5)).unwrap(), 10);
        let transaction = log.begin_transaction();
        transaction.append(&records(15, 300)).unwrap();
        transaction.publish();
        assert_eq!(log.offsets(), (0, 315));
        let before = all(&log);
        drop(log);
        let log = PartitionLog::open(dir.path().to_path_buf(), 0, 4096).unwrap();
        assert_eq!(all(&log), before);
        let values: Vec<String> = before
            .iter()
            .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap()).into_owned())
            .collect();
        let expected: Vec<String> = (0..315).map(|i| format!("value {i}")).collect();
        assert_eq!(values, expected);
        // A transaction dropped without a word is aborted.
        {
            let transaction = log.begin_transaction();
            transaction.append(&records(315, 50)).unwrap();
        }
        assert_eq!(log.offsets(), (0, 315));
        assert_eq!(log.append(&records(315, 1)).unwrap(), 315);
    }

    #[test]
    fn appended_records_come_back_across_segments_and_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0");
        {
            let log = PartitionLog::open(path.clone(), 0, 4096).unwrap();
            // A record larger than a segment goes alone in its own.
            let big: Vec<ProducerRecord> = (0..3)
                .map(|i| ProducerRecord {
                    value: Some(vec![b'x'; 5000]),
                    timestamp: i,
                    ..Default::default()
                })
                .collect();
            for (i, record) in big.iter().enumerate() {
                assert_eq!(log.append(std::slice::from_ref(record)).unwrap(), i as u64);
            }
            assert_eq!(log.append(&records(3, 2000)).unwrap(), 3);
            log.sync().unwrap();
            assert!(log.read_state().segments.len() >= 4);
        }
        let log = PartitionLog::open(path, 0, 4096).unwrap();
        assert_eq!(log.offsets(), (0, 2003));
        let read = all(&log);
        assert_eq!(read.len(), 2003);
        assert!(read.iter().enumerate().all(|(i, r)| r.offset == i as u64));
        assert_eq!(read[1500].value.as_deref(), Some(&b"value 1500"[..]));
        // A fetch from the middle of a batch starts at the offset asked for.
        let fetched = log.fetch(1234, FetchLimits::records(3)).unwrap();
        let offsets: Vec<u64> = fetched.records.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [1234, 1235, 1236]);
        assert_eq!(fetched.high_watermark, 2003);
    }

    #[test]
    fn a_byte_budget_stops_a_fetch_but_never_before_one_record() {
        let dir = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(dir.path().join("0"), 0, 1 << 30).unwrap();
        log.append(&records(0, 100)).unwrap();
        let one = log
            .fetch(
                0,
                FetchLimits {
                    max_records: 100,
                    max_bytes: 1,
                },
            )
            .unwrap();
        assert_eq!(one.records.len(), 1);
        let some = log
            .fetch(
                10,
                FetchLimits {
                    max_records: 100,
                    max_bytes: 40,
                },
            )
            .unwrap();
        assert_eq!(some.records.len(), 3, "11 bytes each");
        assert_eq!(some.records[0].offset, 10);
    }

    #[test]
    fn a_torn_tail_is_cut_at_start_up_and_the_log_goes_on_from_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0");
        {
            let log = PartitionLog::open(path.clone(), 0, 1 << 30).unwrap();
            log.append(&records(0, 10)).unwrap();
            log.append(&records(10, 10)).unwrap();
            log.sync().unwrap();
        }
        let file = Segment::log_path(&path, 0);
        let size = fs::metadata(&file).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(size - 5)
            .unwrap();
        let log = PartitionLog::open(path.clone(), 0, 1 << 30).unwrap();
        assert_eq!(log.offsets(), (0, 10), "the second batch was torn");
        assert_eq!(log.append(&records(10, 1)).unwrap(), 10);
        // A flipped byte in the last batch is cut the same way.
        drop(log);
        let size = fs::metadata(&file).unwrap().len();
        let f = OpenOptions::new().write(true).open(&file).unwrap();
        f.write_all_at(b"!", size - 2).unwrap();
        let log = PartitionLog::open(path, 0, 1 << 30).unwrap();
        assert_eq!(log.offsets(), (0, 10));
        assert_eq!(all(&log).len(), 10);
    }

    #[test]
    fn compaction_keeps_each_keys_latest_record_at_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0");
        let log = PartitionLog::open(path.clone(), 0, 4096).unwrap();
        let record = |key: &str, value: Option<&str>, timestamp: i64| ProducerRecord {
            key: Some(key.as_bytes().to_vec()),
            value: value.map(|v| v.as_bytes().repeat(2000)),
            timestamp,
            ..Default::default()
        };
        // Offsets 0..6: a is updated, b deleted long ago, c deleted just now; each append
        // fills a segment of its own.
        for r in [
            record("a", Some("1"), 1),
            record("b", Some("1"), 1),
            record("a", Some("2"), 2),
            record("b", None, 3),
            record("c", Some("1"), 4),
            record("c", None, 1000),
            record("d", Some("1"), 1000),
        ] {
            log.append(&[r.clone(), r.clone(), r]).unwrap();
        }
        assert!(log.read_state().segments.len() >= 7);
        let dropped = log.compact(1000, 100).unwrap();
        let kept: Vec<(u64, Option<usize>)> = all(&log)
            .iter()
            .map(|r| (r.offset, r.value.as_ref().map(|v| v.len())))
            .collect();
        // Of each key only its last write survives (a at 8, c's tombstone at 17); b's
        // tombstone is older than the delete retention and goes too. The active segment (d)
        // is never compacted.
        let d = Some(2000);
        assert_eq!(
            kept,
            [(8, Some(2000)), (17, None), (18, d), (19, d), (20, d)]
        );
        assert_eq!(dropped, 16);
        assert_eq!(log.offsets().1, 21);
        // Nothing more to do until another segment is sealed; and it all survives a reopen.
        assert_eq!(log.compact(1000, 100).unwrap(), 0);
        drop(log);
        let log = PartitionLog::open(path, 0, 4096).unwrap();
        assert_eq!(all(&log).len(), 5);
        assert_eq!(
            log.fetch(9, FetchLimits::records(1)).unwrap().records[0].offset,
            17
        );
    }

    #[test]
    fn the_time_index_finds_the_first_record_at_or_after_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0");
        let stamped = |timestamps: &[i64]| -> Vec<ProducerRecord> {
            timestamps
                .iter()
                .map(|&t| ProducerRecord {
                    value: Some(vec![b'v'; 1500]),
                    timestamp: t,
                    ..Default::default()
                })
                .collect()
        };
        {
            let log = PartitionLog::open(path.clone(), 0, 4096).unwrap();
            // Out of order within and across batches and segments.
            for batch in [&[10, 30, 20][..], &[25, 40], &[35, 50], &[45, 60, 55]] {
                log.append(&stamped(batch)).unwrap();
            }
            assert!(log.read_state().segments.len() >= 3);
        }
        let log = PartitionLog::open(path, 0, 4096).unwrap();
        let at = |t| log.offset_for_time(t).unwrap();
        assert_eq!(at(0), Some(0));
        assert_eq!(
            at(11),
            Some(1),
            "30 at offset 1 is the first at or after 11"
        );
        assert_eq!(at(31), Some(4), "40 at offset 4");
        assert_eq!(at(41), Some(6), "50 at offset 6");
        assert_eq!(at(56), Some(8));
        assert_eq!(at(61), None);
    }

    #[test]
    fn retention_deletes_old_sealed_segments_only() {
        let dir = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(dir.path().join("0"), 0, 4096).unwrap();
        let big = |ts: i64| ProducerRecord {
            value: Some(vec![0; 3000]),
            timestamp: ts,
            ..Default::default()
        };
        for ts in [1, 2, 3, 1000] {
            log.append(&[big(ts)]).unwrap();
        }
        let segments = log.read_state().segments.len();
        assert!(segments >= 2, "{segments}");
        assert_eq!(
            log.apply_retention(1000, Some(500), None).unwrap(),
            segments - 1
        );
        let (start, end) = log.offsets();
        assert_eq!(end, 4);
        assert!(start > 0);
        assert!(matches!(
            log.fetch(0, FetchLimits::records(1)),
            Err(LogError::OutOfRange(0))
        ));
        assert_eq!(
            log.fetch(start, FetchLimits::records(10))
                .unwrap()
                .records
                .len() as u64,
            end - start
        );
    }
}
