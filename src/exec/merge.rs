//! Reading several partitions as one stream, as a Kafka Streams task does.
//!
//! A log orders records only within a partition. A reader of several partitions (of one topic
//! or of several) keeps a queue per partition and takes, record by record, the head with the
//! smallest timestamp (ties go to the earlier lane: the first input, then the lower
//! partition). A lane whose fetch stopped short of its high watermark may hold an earlier
//! record than any other lane's head, so the merge stops when such a lane runs dry and waits
//! for the next fetch; a lane that is caught up with its high watermark does not hold the
//! others back (Kafka Streams' `max.task.idle.ms` = 0: an empty, caught-up partition is
//! known to have nothing older).

use std::collections::VecDeque;

use super::ExecError;
use crate::topics::{FetchLimits, Record, TopicStore};

/// One partition a reader merges, with what was fetched from it.
pub struct Lane {
    /// The reader's name for the partition, handed back with each of its records.
    pub id: usize,
    queue: VecDeque<Record>,
    /// Whether the partition has records past those fetched.
    more: bool,
}

impl Lane {
    /// Fetches up to `max_records` of `partition` of `topic` from `offset`, as lane `id`.
    pub fn fetch(
        store: &dyn TopicStore,
        id: usize,
        topic: &str,
        partition: u32,
        offset: u64,
        max_records: usize,
    ) -> Result<Lane, ExecError> {
        let fetched = store.fetch(topic, partition, offset, FetchLimits::records(max_records))?;
        let more = fetched.next_offset(offset) < fetched.high_watermark;
        Ok(Lane {
            id,
            queue: fetched.records.into(),
            more,
        })
    }
}

/// Merges the lanes' records by timestamp; each comes out with its lane's id.
pub fn merge_by_timestamp(mut lanes: Vec<Lane>) -> Vec<(usize, Record)> {
    let mut merged = Vec::with_capacity(lanes.iter().map(|l| l.queue.len()).sum());
    loop {
        let next = lanes
            .iter()
            .enumerate()
            .filter_map(|(i, lane)| lane.queue.front().map(|r| (r.timestamp, i)))
            .min();
        let Some((_, i)) = next else { break };
        let lane = &mut lanes[i];
        if let Some(record) = lane.queue.pop_front() {
            merged.push((lane.id, record));
        }
        if lane.more && lane.queue.is_empty() {
            break;
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane(id: usize, partition: u32, stamps: &[i64], more: bool) -> Lane {
        let queue = stamps
            .iter()
            .enumerate()
            .map(|(offset, &timestamp)| Record {
                key: None,
                value: None,
                timestamp,
                headers: Vec::new(),
                partition,
                offset: offset as u64,
            })
            .collect();
        Lane { id, queue, more }
    }

    fn order(merged: &[(usize, Record)]) -> Vec<(usize, u32, i64)> {
        merged
            .iter()
            .map(|(i, r)| (*i, r.partition, r.timestamp))
            .collect()
    }

    #[test]
    fn the_smallest_head_goes_first_and_ties_go_to_the_earlier_lane() {
        let merged = merge_by_timestamp(vec![
            lane(0, 0, &[1, 5, 5], false),
            lane(0, 1, &[2, 5], false),
            lane(1, 0, &[0, 9], false),
        ]);
        assert_eq!(
            order(&merged),
            vec![
                (1, 0, 0),
                (0, 0, 1),
                (0, 1, 2),
                (0, 0, 5),
                (0, 0, 5),
                (0, 1, 5),
                (1, 0, 9)
            ]
        );
    }

    #[test]
    fn a_partition_each_keeps_its_own_order_even_when_time_goes_back() {
        let merged = merge_by_timestamp(vec![lane(0, 0, &[5, 1], false), lane(0, 1, &[3], false)]);
        assert_eq!(order(&merged), vec![(0, 1, 3), (0, 0, 5), (0, 0, 1)]);
    }

    #[test]
    fn a_lane_with_unfetched_records_stops_the_merge_when_it_runs_dry() {
        let merged =
            merge_by_timestamp(vec![lane(0, 0, &[1, 2], true), lane(1, 0, &[3, 4], false)]);
        assert_eq!(order(&merged), vec![(0, 0, 1), (0, 0, 2)]);
        let caught_up = merge_by_timestamp(vec![lane(0, 0, &[], false), lane(1, 0, &[3], false)]);
        assert_eq!(order(&caught_up), vec![(1, 0, 3)]);
    }
}
