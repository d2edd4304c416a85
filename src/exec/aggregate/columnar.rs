//! The aggregation's columnar path: a batch of changes in a handful of passes over arrays.
//!
//! When every aggregate of a query has a [`GroupsAccumulator`] and the query needs nothing
//! row-wise (a stream source, no session windows, no EMIT FINAL), each group is a *slot*: an
//! index into the accumulators' typed vectors. A batch is then: find each change's slot (one
//! hash lookup), let each accumulator apply all the changes and give its column of results,
//! take the key columns from the input rows, and evaluate HAVING and the projection over the
//! result batch. The row-wise path gives the same rows in the same order; it stays for
//! everything else.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, UInt32Array};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::Int64Type;

use super::index::{GroupIndex, Slot};
use super::{GroupId, KeyRows, write_group_id};
use crate::exec::sink::{RowMeta, SinkRows};
use crate::exec::state::{StoreLog, WriteEntry};
use crate::exec::{ExecError, Headers, Reporter, batch_of};
use crate::functions::aggregate::columnar::{Change, GroupsAccumulator, groups_accumulator};
use crate::plan::aggregate::AggregatePlan;
use crate::sql::ast::{Emit, SourceKind, WindowType};
use crate::types::codec::{self, CodecError, Decode, Encode, Input, decode_bytes, encode_bytes};

/// Every group's state, by slot.
pub(super) struct ColumnarGroups {
    /// The slot of each group (key, and window start for windows).
    index: GroupIndex,
    accumulators: Vec<Box<dyn GroupsAccumulator>>,
    /// Per slot: the largest timestamp that contributed.
    max_timestamp: Vec<i64>,
    /// Per slot: whether the group's last output was a value (HAVING may hide it).
    emitted: Vec<bool>,
    /// Per slot: whether it is listed in `changed`.
    slot_changed: Vec<bool>,
    /// The slots changed since changes were last taken, when changes are tracked.
    changed: Option<Vec<u32>>,
    /// The ids of groups removed since changes were last taken (tracked changes only).
    removed: Vec<GroupId>,
}

impl ColumnarGroups {
    /// The columnar state for a plan, when the plan can use it.
    pub(super) fn for_plan(plan: &AggregatePlan) -> Option<ColumnarGroups> {
        let row_wise = plan.source.kind != SourceKind::Stream
            || plan.emit == Some(Emit::Final)
            || plan
                .window
                .as_ref()
                .is_some_and(|w| w.window_type == WindowType::Session);
        if row_wise {
            return None;
        }
        let accumulators = plan
            .aggregates
            .iter()
            .map(|call| groups_accumulator(call.function.name, &call.signature))
            .collect::<Option<Vec<_>>>()?;
        Some(ColumnarGroups {
            index: GroupIndex::default(),
            accumulators,
            max_timestamp: Vec::new(),
            emitted: Vec::new(),
            slot_changed: Vec::new(),
            changed: None,
            removed: Vec::new(),
        })
    }

    /// The slot of a group, taken (and its state emptied) when the group is new; counted as
    /// changed.
    fn slot(&mut self, id: &[u8]) -> Result<u32, ExecError> {
        let slot = self.slot_unchanged(id)?;
        self.mark(slot);
        Ok(slot)
    }

    fn mark(&mut self, slot: u32) {
        if let Some(changed) = &mut self.changed
            && let Some(flag) = self.slot_changed.get_mut(slot as usize)
            && !*flag
        {
            *flag = true;
            changed.push(slot);
        }
    }

    fn slot_unchanged(&mut self, id: &[u8]) -> Result<u32, ExecError> {
        Ok(match self.index.slot(id)? {
            Slot::Existing(slot) => slot,
            Slot::Reused(slot) => {
                let index = slot as usize;
                for accumulator in &mut self.accumulators {
                    accumulator.reset(index);
                }
                self.max_timestamp[index] = i64::MIN;
                self.emitted[index] = false;
                slot
            }
            Slot::Added(slot) => {
                self.max_timestamp.push(i64::MIN);
                self.emitted.push(false);
                self.slot_changed.push(false);
                for accumulator in &mut self.accumulators {
                    accumulator.resize(self.max_timestamp.len());
                }
                slot
            }
        })
    }

    /// Drops the groups `keep` rejects; their slots are reused.
    pub(super) fn retain(&mut self, keep: &dyn Fn(&[u8]) -> bool) {
        let tracked = self.changed.is_some();
        let (slot_changed, removed) = (&mut self.slot_changed, &mut self.removed);
        self.index.retain(&mut |slot, id| {
            let kept = keep(id);
            if !kept && tracked {
                removed.push(GroupId::from_slice(id));
                if let Some(flag) = slot_changed.get_mut(slot as usize) {
                    *flag = false;
                }
            }
            kept
        });
    }

    /// Writes one group's state: its largest timestamp, whether it emitted, and each
    /// accumulator's state.
    fn save(&self, slot: u32, out: &mut Vec<u8>) {
        let index = slot as usize;
        self.max_timestamp
            .get(index)
            .copied()
            .unwrap_or(i64::MIN)
            .encode(out);
        self.emitted
            .get(index)
            .copied()
            .unwrap_or(false)
            .encode(out);
        for accumulator in &self.accumulators {
            accumulator.save(index, out);
        }
    }

    fn write(&self, slot: u32, buffers: &mut (Vec<u8>, Vec<u8>), write: &mut WriteEntry<'_>) {
        let (key, value) = buffers;
        key.clear();
        encode_bytes(self.index.id(slot), key);
        value.clear();
        self.save(slot, value);
        write(key, Some(value));
    }
}

/// The columnar groups as a changelog sees them: an entry per group, keyed by its id (encoded
/// as the row-wise path's group ids are).
impl StoreLog for ColumnarGroups {
    fn track_changes(&mut self) {
        self.changed.get_or_insert_with(Vec::new);
    }

    fn write_changes(&mut self, write: &mut WriteEntry<'_>) {
        let mut buffers = (Vec::new(), Vec::new());
        // Removals first: a group removed and then made again within one commit ends as a
        // value.
        for id in std::mem::take(&mut self.removed) {
            buffers.0.clear();
            encode_bytes(&id, &mut buffers.0);
            write(&buffers.0, None);
        }
        let changed = self
            .changed
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        for slot in changed {
            if let Some(flag) = self.slot_changed.get_mut(slot as usize)
                && *flag
            {
                *flag = false;
                self.write(slot, &mut buffers, write);
            }
        }
    }

    fn write_all(&self, write: &mut WriteEntry<'_>) {
        let mut buffers = (Vec::new(), Vec::new());
        for (slot, _) in self.index.iter() {
            self.write(slot, &mut buffers, write);
        }
    }

    fn apply(&mut self, key: &[u8], value: Option<&[u8]>) -> codec::Result<()> {
        let mut input = Input::new(key);
        let id = decode_bytes(&mut input)?;
        let Some(value) = value else {
            self.index.remove(id);
            return Ok(());
        };
        let slot = self
            .slot_unchanged(id)
            .map_err(|e| CodecError::Invalid(e.to_string()))?;
        let index = slot as usize;
        let mut input = Input::new(value);
        let max_timestamp = i64::decode(&mut input)?;
        let emitted = bool::decode(&mut input)?;
        if let (Some(m), Some(e)) = (
            self.max_timestamp.get_mut(index),
            self.emitted.get_mut(index),
        ) {
            *m = max_timestamp;
            *e = emitted;
        }
        for accumulator in &mut self.accumulators {
            accumulator.load(index, &mut input)?;
        }
        Ok(())
    }

    fn reserve(&mut self, entries: usize) {
        self.index.reserve(entries);
        self.max_timestamp.reserve(entries);
        self.emitted.reserve(entries);
        self.slot_changed.reserve(entries);
    }

    fn touch(&mut self, key: &[u8]) -> codec::Result<()> {
        let id = decode_bytes(&mut Input::new(key))?;
        match self.index.find(id) {
            Some(slot) => self.mark(slot),
            None if self.changed.is_some() => self.removed.push(GroupId::from_slice(id)),
            None => {}
        }
        Ok(())
    }
}

/// A batch of changes as the row-wise path prepares it.
pub(super) struct Prepared<'a> {
    pub keep: &'a [bool],
    pub groups: &'a [ArrayRef],
    pub args: &'a [Vec<ArrayRef>],
    pub rowtime: &'a datafusion::arrow::array::PrimitiveArray<Int64Type>,
    pub key_rows: &'a KeyRows,
    pub headers: &'a [Headers],
    pub positions: &'a [(u32, u64)],
}

/// One change before its group is found: the input row and the window it falls in.
struct Target {
    row: u32,
    window: Option<(i64, i64)>,
}

impl super::AggregateOperator {
    /// Applies a batch of stream rows on the columnar path (see the module docs).
    pub(super) fn process_columnar(
        &mut self,
        batch: Prepared<'_>,
        reporter: &mut Reporter<'_>,
    ) -> Result<SinkRows, ExecError> {
        let targets = self.targets(&batch, reporter);
        if targets.is_empty() {
            self.expire_windows();
            return Ok(SinkRows::default());
        }
        let groups = self
            .columnar
            .as_mut()
            .ok_or_else(|| ExecError::internal("no columnar state"))?;
        let mut id = GroupId::with_capacity(32);
        let mut changes = Vec::with_capacity(targets.len());
        let mut timestamps = Vec::with_capacity(targets.len());
        for target in &targets {
            let row = target.row as usize;
            // A group is its key, and for a window the window's start too.
            let slot = match target.window {
                None => groups.slot(batch.key_rows.row(row))?,
                Some((start, _)) => {
                    write_group_id(&mut id, batch.key_rows.row(row), start);
                    groups.slot(&id)?
                }
            };
            let latest = &mut groups.max_timestamp[slot as usize];
            *latest = (*latest).max(batch.rowtime.value(row));
            timestamps.push(*latest);
            changes.push(Change {
                row: target.row,
                group: slot,
            });
        }
        // The aggregate scope: keys, aggregates, ROWTIME, then the window bounds.
        let rows = UInt32Array::from_iter_values(targets.iter().map(|t| t.row));
        let mut columns = Vec::with_capacity(self.plan.aggregate_scope.columns.len());
        for key in batch.groups {
            columns.push(take(key, &rows, None).map_err(ExecError::internal)?);
        }
        for (accumulator, args) in groups.accumulators.iter_mut().zip(batch.args) {
            columns.push(
                accumulator
                    .update(args, &changes)
                    .map_err(ExecError::Internal)?,
            );
        }
        let timestamps = Int64Array::from(timestamps);
        columns.push(Arc::new(timestamps.clone()));
        if self.plan.window.is_some() {
            let bound = |end: bool| -> ArrayRef {
                Arc::new(
                    targets
                        .iter()
                        .map(|t| t.window.map(|(s, e)| if end { e } else { s }))
                        .collect::<Int64Array>(),
                )
            };
            columns.push(bound(false));
            columns.push(bound(true));
        }
        let scope = batch_of(
            self.plan.aggregate_scope.arrow_schema(),
            columns,
            targets.len(),
        )?;
        let positions: Vec<(u32, u64)> = targets
            .iter()
            .map(|t| batch.positions[t.row as usize])
            .collect();
        let (having, outputs) =
            super::having_and_outputs(&self.plan, &scope, &positions, reporter)?;
        let having = having.as_ref().map(|h| h.as_boolean_opt());
        let mut rows = Vec::with_capacity(targets.len());
        for (i, target) in targets.iter().enumerate() {
            let tombstone = match having {
                None => false,
                Some(mask) => {
                    let passes = mask.is_some_and(|m| m.is_valid(i) && m.value(i));
                    let emitted = &mut groups.emitted[changes[i].group as usize];
                    let was_emitted = std::mem::replace(emitted, passes);
                    match super::outcome(false, passes, was_emitted) {
                        Some(tombstone) => tombstone,
                        None => continue,
                    }
                }
            };
            rows.push((
                i,
                RowMeta {
                    tombstone,
                    null_key: false,
                    timestamp: timestamps.value(i),
                    headers: batch.headers[target.row as usize].clone(),
                    window: target.window,
                    position: positions[i],
                },
            ));
        }
        self.expire_windows();
        Ok(SinkRows::Columns {
            columns: outputs,
            rows,
        })
    }

    /// The changes a batch makes, in order: each kept row with a key, once per window it
    /// falls in that has not expired. Advances stream time.
    fn targets(&mut self, batch: &Prepared<'_>, reporter: &mut Reporter<'_>) -> Vec<Target> {
        let nulls: Vec<_> = batch.groups.iter().map(|g| g.logical_nulls()).collect();
        let mut targets = Vec::with_capacity(batch.keep.len());
        for (row, _) in batch.keep.iter().enumerate().filter(|(_, keep)| **keep) {
            if nulls.iter().flatten().any(|n| n.is_null(row)) {
                reporter.skipped(
                    "Skipping record with a null GROUP BY key".to_string(),
                    batch.positions[row],
                );
                continue;
            }
            let timestamp = batch.rowtime.value(row);
            self.stream_time = self.stream_time.max(timestamp);
            if self.plan.window.is_none() {
                targets.push(Target {
                    row: row as u32,
                    window: None,
                });
                continue;
            }
            for (start, end) in self.open_windows(timestamp, batch.positions[row], reporter) {
                targets.push(Target {
                    row: row as u32,
                    window: Some((start, end)),
                });
            }
        }
        targets
    }
}
