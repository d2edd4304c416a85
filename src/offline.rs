//! `sluice topics … --data-dir DIR`: the topics of a stopped server's data directory, read and
//! written directly through the log on disk (which locks the directory while it is open).

use std::io::{BufRead, Write};
use std::path::Path;

use thiserror::Error;

use crate::client::{ClientError, for_each_chunk};
use crate::topics::load::{LoadError, LoadOptions, load_lines};
use crate::topics::{DiskOptions, DiskTopicStore, FetchLimits, TopicError, TopicStore};

#[derive(Debug, Error)]
pub enum OfflineError {
    #[error("{0}")]
    Topics(#[from] TopicError),
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("{0}")]
    Input(#[from] ClientError),
    #[error("Cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

fn open(data_dir: &Path) -> Result<DiskTopicStore, OfflineError> {
    if !data_dir.join("topics").is_dir() {
        return Err(TopicError::Storage(format!(
            "{} is not a Sluice data directory (it has no topics/)",
            data_dir.display()
        ))
        .into());
    }
    Ok(DiskTopicStore::open(data_dir, DiskOptions::default())?)
}

/// Appends every line of `input` to `topic`, as `POST /topics/{topic}/records` would.
pub fn produce(
    data_dir: &Path,
    topic: &str,
    options: &LoadOptions,
    input: impl BufRead,
    mut progress: impl FnMut(u64),
) -> Result<u64, OfflineError> {
    std::fs::create_dir_all(data_dir)?;
    let store = DiskTopicStore::open(data_dir, DiskOptions::default())?;
    let mut refused = None;
    let mut total = 0;
    let appended = for_each_chunk(input, |first_line, chunk| {
        match load_lines(&store, topic, options, chunk, first_line) {
            Ok(count) => {
                total += count as u64;
                progress(total);
                Ok(count as u64)
            }
            Err(e) => {
                let message = e.to_string();
                refused = Some(e);
                Err(ClientError::Refused(message))
            }
        }
    });
    match (appended, refused) {
        (Ok(count), _) => Ok(count),
        (Err(_), Some(e)) => Err(e.into()),
        (Err(e), None) => Err(e.into()),
    }
}

/// One line per topic: its name, partitions and records held.
pub fn list(data_dir: &Path, out: &mut impl Write) -> Result<(), OfflineError> {
    let store = open(data_dir)?;
    writeln!(
        out,
        "{:<50} {:>10} {:>14}",
        "Topic", "Partitions", "Records"
    )?;
    for topic in store.list_topics()? {
        let records: u64 = topic
            .end_offsets
            .iter()
            .zip(&topic.start_offsets)
            .map(|(end, start)| end - start)
            .sum();
        writeln!(
            out,
            "{:<50} {:>10} {:>14}",
            topic.name, topic.config.partitions, records
        )?;
    }
    Ok(())
}

/// A topic's configs and each partition's start and end offsets.
pub fn describe(data_dir: &Path, topic: &str, out: &mut impl Write) -> Result<(), OfflineError> {
    let store = open(data_dir)?;
    let description = store.describe_topic(topic)?;
    writeln!(out, "Topic: {}", description.name)?;
    writeln!(out, "Partitions: {}", description.config.partitions)?;
    writeln!(out, "Replicas: {}", description.config.replicas)?;
    for (name, value) in description.config.entries() {
        writeln!(out, "{name}: {value}")?;
    }
    writeln!(
        out,
        "{:>9} {:>14} {:>14}",
        "Partition", "Start offset", "End offset"
    )?;
    for (partition, (start, end)) in description
        .start_offsets
        .iter()
        .zip(&description.end_offsets)
        .enumerate()
    {
        writeln!(out, "{partition:>9} {start:>14} {end:>14}")?;
    }
    Ok(())
}

/// Every record of a topic (up to `limit`), partition by partition, one line each: partition,
/// offset, timestamp, key and value, the bytes shown as UTF-8 (`<null>` when absent).
pub fn dump(
    data_dir: &Path,
    topic: &str,
    limit: Option<u64>,
    out: &mut impl Write,
) -> Result<(), OfflineError> {
    let store = open(data_dir)?;
    let description = store.describe_topic(topic)?;
    let text = |bytes: Option<&[u8]>| {
        bytes.map_or_else(
            || "<null>".to_string(),
            |b| String::from_utf8_lossy(b).into_owned(),
        )
    };
    let mut shown = 0u64;
    for (partition, &start) in (0u32..).zip(&description.start_offsets) {
        let mut next = start;
        loop {
            if limit.is_some_and(|l| shown >= l) {
                return Ok(());
            }
            let fetched = store.fetch(topic, partition, next, FetchLimits::records(1024))?;
            if fetched.records.is_empty() {
                break;
            }
            next = fetched.next_offset(next);
            for record in fetched.records {
                if limit.is_some_and(|l| shown >= l) {
                    return Ok(());
                }
                writeln!(
                    out,
                    "partition {partition} offset {} timestamp {} key {} value {}",
                    record.offset,
                    record.timestamp,
                    text(record.key.as_deref()),
                    text(record.value.as_deref())
                )?;
                shown += 1;
            }
        }
    }
    Ok(())
}
