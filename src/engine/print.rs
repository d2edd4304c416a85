//! `PRINT topic [FROM BEGINNING] [INTERVAL n] [LIMIT n]`: a topic's records as text, read
//! straight from the log with their formats guessed (`format::print`), as ksqlDB prints them.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Engine, EngineError};
use crate::exec::OffsetReset;
use crate::format::print::{RecordFormatter, format_line};
use crate::topics::{FetchLimits, TopicStore};

/// How many records a print reads per partition and step.
const STEP: usize = 500;

/// A PRINT statement's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintRequest {
    pub topic: String,
    pub from_beginning: bool,
    pub interval: Option<u64>,
    pub limit: Option<u64>,
}

/// A PRINT ready to read: where it starts in each partition, and how to render.
pub struct PrintCursor {
    store: Arc<dyn TopicStore>,
    topic: String,
    positions: Vec<u64>,
    interval: u64,
    limit: Option<u64>,
    /// Records read so far (INTERVAL counts them) and lines printed (LIMIT counts them).
    polled: u64,
    printed: u64,
    formatter: RecordFormatter,
    /// The format lines last printed: `None` before the first.
    shown: Option<(Vec<String>, Vec<String>)>,
}

/// What one step of a print found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Printed {
    /// `Key format:` / `Value format:` lines, when what is known of the formats changed.
    pub formats: Vec<String>,
    /// One line per record printed.
    pub records: Vec<String>,
    /// Whether the LIMIT was reached: nothing more will be printed.
    pub done: bool,
}

impl Engine {
    /// Checks a PRINT (its errors are ksqlDB's generic ones, not statement errors) and finds
    /// where it starts: at each partition's start with FROM BEGINNING,
    /// else where `auto.offset.reset` says (the end, unless set to `earliest`).
    pub fn prepare_print(
        &self,
        request: &PrintRequest,
        overrides: &BTreeMap<String, String>,
    ) -> Result<PrintCursor, EngineError> {
        let interval = request.interval.unwrap_or(1);
        if interval < 1 {
            return Err(EngineError::Generic(format!(
                "INTERVAL must be greater than one, but was: {interval}"
            )));
        }
        let topic = match self.store.describe_topic(&request.topic) {
            Ok(topic) => topic,
            Err(_) => return Err(EngineError::Generic(self.unknown_topic(&request.topic))),
        };
        let properties = self.effective_properties(overrides);
        let earliest = request.from_beginning
            || OffsetReset::from_properties(&properties, OffsetReset::Latest)
                == OffsetReset::Earliest;
        let positions = if earliest {
            topic.start_offsets.clone()
        } else {
            topic.end_offsets.clone()
        };
        Ok(PrintCursor {
            store: Arc::clone(&self.store),
            topic: topic.name,
            positions,
            interval,
            limit: request.limit,
            polled: 0,
            printed: 0,
            formatter: RecordFormatter::new(self.schema_registry().clone()),
            shown: None,
        })
    }

    /// ksqlDB's message for a topic that does not exist, naming those that differ only in case.
    fn unknown_topic(&self, topic: &str) -> String {
        let mut message = format!(
            "Could not find topic '{topic}', or the KSQL user does not have permissions to list the topic. Topic names are case-sensitive."
        );
        let similar: Vec<String> = self
            .store
            .list_topics()
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t.name.eq_ignore_ascii_case(topic))
            .map(|t| format!("\tprint {};", t.name))
            .collect();
        if !similar.is_empty() {
            message.push_str("\nDid you mean:\n");
            message.push_str(&similar.join("\n"));
        }
        message
    }
}

impl PrintCursor {
    /// Whether the LIMIT has been reached (a LIMIT of 0 prints nothing).
    pub fn is_done(&self) -> bool {
        self.limit.is_some_and(|limit| self.printed >= limit)
    }

    /// Reads what has arrived since the last step, from every partition, and renders it.
    pub fn step(&mut self) -> Result<Printed, EngineError> {
        let mut printed = Printed {
            done: self.is_done(),
            ..Printed::default()
        };
        if printed.done {
            return Ok(printed);
        }
        let mut records = Vec::new();
        for (partition, position) in (0..).zip(self.positions.iter_mut()) {
            let fetched = self.store.fetch(
                &self.topic,
                partition,
                *position,
                FetchLimits::records(STEP),
            )?;
            *position = fetched.next_offset(*position);
            records.extend(fetched.records);
        }
        if records.is_empty() {
            return Ok(printed);
        }
        for line in self.formatter.format(&records) {
            let sampled = self.polled.is_multiple_of(self.interval);
            self.polled += 1;
            if sampled {
                printed.records.push(line);
                self.printed += 1;
                if self.is_done() {
                    printed.done = true;
                    break;
                }
            }
        }
        let formats = (self.formatter.key_formats(), self.formatter.value_formats());
        let (keys_changed, values_changed) = match &self.shown {
            None => (true, true),
            Some((keys, values)) => (keys != &formats.0, values != &formats.1),
        };
        if keys_changed {
            printed.formats.push(format_line("Key", &formats.0));
        }
        if values_changed {
            printed.formats.push(format_line("Value", &formats.1));
        }
        self.shown = Some(formats);
        Ok(printed)
    }
}
