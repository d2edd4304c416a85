//! The join stage: two inputs, state for each side, one output row per produced join result.
//!
//! - stream-table: a stream record looks up the table's current row for its key; table
//!   records only update the table.
//! - table-table: either side's update re-evaluates the join for its key; results that vanish
//!   are written as tombstones.
//! - foreign-key: the left row's foreign key looks up the right table; a right update re-joins
//!   every left row that refers to it.
//! - stream-stream: each record joins the other side's records within the window; outer joins
//!   emit unmatched records with nulls (at once, or when the window closes if the query has a
//!   GRACE PERIOD, as Kafka Streams does).

use std::collections::BTreeSet;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::common::ScalarValue;

use super::decode::DecodedBatch;
use super::sink::{RowMeta, SinkRows};
use super::state::{Stateful, Store, StoreId, StoreLog, Update, logged};
use super::{ExecError, Headers, Reporter, batch_of, evaluate};
use crate::functions::util::to_array;
use crate::plan::join::{JoinKind, JoinLeft, JoinLevel, JoinPlan};
use crate::sql::ast::JoinType;
use crate::types::codec::{self, Decode, Encode, Input};

/// One side's row: all columns of its scope.
type Row = Vec<ScalarValue>;

/// A buffered stream record.
#[derive(Debug, Clone)]
struct Buffered {
    row: Row,
    timestamp: i64,
    headers: Headers,
    position: (u32, u64),
    /// Whether it has joined with anything (for delayed outer-join results).
    matched: bool,
    /// Whether its unmatched result is still owed (delayed outer joins).
    pending: bool,
}

/// A join result before WHERE and the projection.
struct Joined {
    left: Option<Row>,
    right: Option<Row>,
    key: ScalarValue,
    /// Write a tombstone for this key.
    tombstone: bool,
    /// Write the tombstone even if no value was written before (a foreign-key join's left
    /// delete always is).
    forced: bool,
    timestamp: i64,
    headers: Headers,
    position: (u32, u64),
}

/// A join query: its (possibly nested) joins, and for table results, which keys hold a value.
pub struct JoinOperator {
    plan: JoinPlan,
    top: LevelState,
    /// Table outputs: keys whose last result was a value.
    emitted: Store<ScalarValue, bool>,
    /// Per column of the top join's right side: whether WHERE or the projection reads it.
    right_read: Vec<bool>,
}

/// Which columns of the top join's right side the query reads (by their place in the join
/// scope, after the left input's): a stream-table join copies only those out of the table.
fn right_columns_read(plan: &JoinPlan) -> Vec<bool> {
    let mut read = vec![false; plan.scope.columns.len()];
    let known = plan
        .filter
        .iter()
        .chain(plan.outputs.iter().map(|o| &o.expr))
        .all(|e| e.mark_columns_read(&mut read));
    let left_width = plan.top.left_scope.columns.len();
    (0..plan.top.right.scope.columns.len())
        .map(|c| !known || read.get(left_width + c).copied().unwrap_or(true))
        .collect()
}

/// The state of one binary join.
struct LevelState {
    level: JoinLevel,
    inner: Option<Box<LevelState>>,
    /// Tables: the current row per key (for a foreign-key join's left side: per primary key).
    left_table: Store<ScalarValue, Row>,
    right_table: Store<ScalarValue, Row>,
    /// Foreign-key joins: the left primary keys that refer to each right key.
    references: Store<ScalarValue, BTreeSet<Vec<u8>>>,
    left_by_pk: Store<Vec<u8>, (ScalarValue, Row)>,
    /// Streams: the records seen per key.
    left_buffer: Store<ScalarValue, Vec<Buffered>>,
    right_buffer: Store<ScalarValue, Vec<Buffered>>,
    stream_time: i64,
    /// Stream-stream joins: the newest timestamp seen on each side.
    side_time: [i64; 2],
    /// Delayed outer joins: the earliest window end among pending records.
    earliest_pending_end: i64,
    /// The stream time at which expired buffered records are next dropped.
    next_expiry: i64,
}

impl JoinOperator {
    pub fn new(plan: JoinPlan) -> JoinOperator {
        let top = LevelState::new(&plan.top);
        let right_read = right_columns_read(&plan);
        JoinOperator {
            plan,
            top,
            emitted: Store::new(),
            right_read,
        }
    }

    pub fn process(
        &mut self,
        input: usize,
        decoded: DecodedBatch,
        reporter: &mut Reporter<'_>,
    ) -> Result<SinkRows, ExecError> {
        // A stream record joined to a table needs no per-record row: the stream's columns are
        // taken from its batch as they are.
        if input == 0 && self.top.inner.is_none() && self.plan.top.kind == JoinKind::StreamTable {
            return self.stream_to_table(&decoded, reporter);
        }
        let joined = self.top.process(input, &decoded, reporter)?;
        self.project(joined, reporter)
    }

    /// A batch of stream records joined to the table's current rows.
    fn stream_to_table(
        &mut self,
        decoded: &DecodedBatch,
        reporter: &mut Reporter<'_>,
    ) -> Result<SinkRows, ExecError> {
        let level = &self.plan.top;
        let keys = evaluate(
            &level.left_key,
            &decoded.batch,
            &decoded.positions,
            reporter,
        )?;
        let left_width = level.left_scope.columns.len();
        let rowtime = decoded.batch.column(left_width - 3).clone();
        let rowtime = rowtime.as_primitive_opt::<Int64Type>();
        let right_columns = &level.right.scope.columns;
        let right_read = &self.right_read;
        let mut taken: Vec<u32> = Vec::with_capacity(decoded.num_rows());
        let mut right: Vec<Vec<ScalarValue>> = right_columns
            .iter()
            .map(|_| Vec::with_capacity(decoded.num_rows()))
            .collect();
        let right_nulls: Vec<ScalarValue> = right_columns
            .iter()
            .map(|c| ScalarValue::try_from(&c.ty.to_arrow()).unwrap_or(ScalarValue::Null))
            .collect();
        let mut metas = Vec::with_capacity(decoded.num_rows());
        for i in 0..decoded.num_rows() {
            if decoded.tombstone[i] {
                continue;
            }
            let mut key = ScalarValue::try_from_array(&keys, i).map_err(ExecError::internal)?;
            if level.windowed.is_some() {
                let window = |c: usize| ScalarValue::try_from_array(decoded.batch.column(c), i);
                let (start, end) = (window(left_width - 5), window(left_width - 4));
                key = windowed_key(
                    key,
                    &start.map_err(ExecError::internal)?,
                    &end.map_err(ExecError::internal)?,
                )?;
            }
            let row = if key.is_null() {
                None
            } else {
                self.top.right_table.get(&key)
            };
            if row.is_none() && level.join_type == JoinType::Inner {
                continue;
            }
            for (c, values) in right.iter_mut().enumerate() {
                if !right_read[c] {
                    continue;
                }
                values.push(match row {
                    Some(row) => row[c].clone(),
                    None => right_nulls[c].clone(),
                });
            }
            taken.push(i as u32);
            // The columns are in the batch: the result carries only what goes beside them.
            metas.push(Joined {
                left: None,
                right: None,
                key,
                tombstone: false,
                forced: false,
                timestamp: rowtime.map_or(0, |t| t.value(i)),
                headers: decoded.headers[i].clone(),
                position: decoded.positions[i],
            });
        }
        if metas.is_empty() {
            return Ok(SinkRows::default());
        }
        let indices = datafusion::arrow::array::UInt32Array::from(taken);
        let scope = &self.plan.scope;
        let mut columns = Vec::with_capacity(scope.columns.len());
        for c in 0..left_width {
            columns.push(
                datafusion::arrow::compute::take(decoded.batch.column(c), &indices, None)
                    .map_err(ExecError::internal)?,
            );
        }
        for ((values, column), read) in right.into_iter().zip(right_columns).zip(right_read) {
            let data_type = column.ty.to_arrow();
            columns.push(if *read {
                to_array(values, &data_type).map_err(ExecError::internal)?
            } else {
                datafusion::arrow::array::new_null_array(&data_type, metas.len())
            });
        }
        let key_column = scope
            .columns
            .last()
            .ok_or_else(|| ExecError::internal("a join scope without its key"))?;
        columns.push(
            to_array(
                metas
                    .iter()
                    .map(|m| split_windowed(&m.key, level.windowed.is_some()).0)
                    .collect(),
                &key_column.ty.to_arrow(),
            )
            .map_err(ExecError::internal)?,
        );
        let batch = batch_of(scope.arrow_schema(), columns, metas.len())?;
        self.finish(batch, metas, reporter)
    }
}

impl LevelState {
    fn new(level: &JoinLevel) -> LevelState {
        LevelState {
            level: level.clone(),
            inner: match &level.left {
                JoinLeft::Join(inner) => Some(Box::new(LevelState::new(inner))),
                JoinLeft::Source { .. } => None,
            },
            left_table: Store::new(),
            right_table: Store::new(),
            references: Store::new(),
            left_by_pk: Store::new(),
            left_buffer: Store::new(),
            right_buffer: Store::new(),
            stream_time: i64::MIN,
            side_time: [i64::MIN; 2],
            earliest_pending_end: i64::MAX,
            next_expiry: i64::MIN,
        }
    }

    /// Processes records of one input (numbered left to right) into join results.
    fn process(
        &mut self,
        input: usize,
        decoded: &DecodedBatch,
        reporter: &mut Reporter<'_>,
    ) -> Result<Vec<Joined>, ExecError> {
        let right_input = self.level.input_count() - 1;
        let (side, changes) = if input == right_input {
            let side = &self.level.right;
            (
                1,
                changes_from_records(
                    &side.key,
                    side.scope.columns.len(),
                    self.level.windowed.is_some(),
                    decoded,
                    reporter,
                )?,
            )
        } else if let Some(inner) = &mut self.inner {
            let joined = inner.process(input, decoded, reporter)?;
            (0, self.changes_from_joined(joined, reporter)?)
        } else {
            let width = self.level.left_scope.columns.len();
            (
                0,
                changes_from_records(
                    &self.level.left_key,
                    width,
                    self.level.windowed.is_some(),
                    decoded,
                    reporter,
                )?,
            )
        };
        let mut out = Vec::new();
        for change in changes {
            match self.level.kind {
                JoinKind::StreamTable => self.stream_table(side, change, &mut out),
                JoinKind::TableTable => self.table_table(side, change, &mut out),
                JoinKind::ForeignKey => self.foreign_key(side, change, &mut out),
                JoinKind::StreamStream {
                    before_ms,
                    after_ms,
                    grace_ms,
                } => self.stream_stream(
                    side,
                    change,
                    (before_ms, after_ms, grace_ms),
                    &mut out,
                    reporter,
                ),
            }
        }
        Ok(out)
    }

    /// An inner join's results as changes of this join's left input.
    fn changes_from_joined(
        &self,
        joined: Vec<Joined>,
        reporter: &mut Reporter<'_>,
    ) -> Result<Vec<Change>, ExecError> {
        if joined.is_empty() {
            return Ok(Vec::new());
        }
        let scope = &self.level.left_scope;
        let rows: Vec<Row> = joined.iter().map(|j| joined_row(j, scope)).collect();
        let mut columns = Vec::with_capacity(scope.columns.len());
        for (c, column) in scope.columns.iter().enumerate() {
            let values = rows.iter().map(|r| r[c].clone()).collect();
            columns.push(to_array(values, &column.ty.to_arrow()).map_err(ExecError::internal)?);
        }
        let batch = batch_of(scope.arrow_schema(), columns, rows.len())?;
        let positions: Vec<(u32, u64)> = joined.iter().map(|j| j.position).collect();
        let keys = evaluate(&self.level.left_key, &batch, &positions, reporter)?;
        let mut changes = Vec::with_capacity(joined.len());
        for (i, (j, row)) in joined.into_iter().zip(rows).enumerate() {
            let key = if j.tombstone {
                j.key
            } else {
                ScalarValue::try_from_array(&keys, i).map_err(ExecError::internal)?
            };
            changes.push(Change {
                row,
                key,
                tombstone: j.tombstone,
                timestamp: j.timestamp,
                headers: j.headers,
                position: j.position,
            });
        }
        Ok(changes)
    }

    fn stream_table(&mut self, input: usize, c: Change, out: &mut Vec<Joined>) {
        if input == 1 {
            if c.tombstone {
                self.right_table.remove(&c.key);
            } else if !c.key.is_null() {
                self.right_table.put(c.key, c.row);
            }
            return;
        }
        if c.tombstone {
            return;
        }
        let right = if c.key.is_null() {
            None
        } else {
            self.right_table.get(&c.key).cloned()
        };
        if right.is_none() && self.level.join_type == JoinType::Inner {
            return;
        }
        out.push(Joined {
            left: Some(c.row),
            right,
            key: c.key,
            tombstone: false,
            forced: false,
            timestamp: c.timestamp,
            headers: c.headers,
            position: c.position,
        });
    }

    fn table_table(&mut self, input: usize, c: Change, out: &mut Vec<Joined>) {
        if c.key.is_null() {
            return;
        }
        let table = if input == 0 {
            &mut self.left_table
        } else {
            &mut self.right_table
        };
        if c.tombstone {
            table.remove(&c.key);
        } else {
            table.put(c.key.clone(), c.row);
        }
        let left = self.left_table.get(&c.key).cloned();
        let right = self.right_table.get(&c.key).cloned();
        let produces = match self.level.join_type {
            JoinType::Inner => left.is_some() && right.is_some(),
            JoinType::Left => left.is_some(),
            JoinType::Right => right.is_some(),
            JoinType::Full => left.is_some() || right.is_some(),
        };
        // Whether a vanished result was ever written is decided in `project`, in order.
        out.push(Joined {
            left,
            right,
            key: c.key,
            tombstone: !produces,
            forced: false,
            timestamp: c.timestamp,
            headers: c.headers,
            position: c.position,
        });
    }

    fn foreign_key(&mut self, input: usize, c: Change, out: &mut Vec<Joined>) {
        let pk_positions = self.left_key_positions();
        if input == 0 {
            // The left table's own key identifies the row; its foreign key is `c.key`.
            let pk = primary_key(&c.row, &pk_positions);
            let pk_bytes = format!("{pk:?}").into_bytes();
            if let Some((old_fk, _)) = self.left_by_pk.remove(&pk_bytes)
                && let Some(set) = self.references.get_mut(&old_fk)
            {
                set.remove(&pk_bytes);
            }
            if c.tombstone {
                // The deleted row still carries its key columns, which key the tombstone.
                out.push(Joined {
                    left: Some(c.row),
                    right: None,
                    key: pk,
                    tombstone: true,
                    forced: true,
                    timestamp: c.timestamp,
                    headers: c.headers,
                    position: c.position,
                });
                return;
            }
            self.left_by_pk
                .put(pk_bytes.clone(), (c.key.clone(), c.row.clone()));
            self.references
                .get_or_insert_with(c.key.clone(), BTreeSet::new)
                .insert(pk_bytes);
            let right = if c.key.is_null() {
                None
            } else {
                self.right_table.get(&c.key).cloned()
            };
            let produces = right.is_some() || self.level.join_type == JoinType::Left;
            out.push(Joined {
                left: Some(c.row),
                right,
                key: pk,
                tombstone: !produces,
                forced: false,
                timestamp: c.timestamp,
                headers: c.headers,
                position: c.position,
            });
            return;
        }
        if c.tombstone {
            self.right_table.remove(&c.key);
        } else {
            self.right_table.put(c.key.clone(), c.row.clone());
        }
        let right = self.right_table.get(&c.key).cloned();
        let referring: Vec<Vec<u8>> = self
            .references
            .get(&c.key)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for pk_bytes in referring {
            let Some((_, left)) = self.left_by_pk.get(&pk_bytes).cloned() else {
                continue;
            };
            let pk = primary_key(&left, &pk_positions);
            let produces = right.is_some() || self.level.join_type == JoinType::Left;
            out.push(Joined {
                left: Some(left),
                right: right.clone(),
                key: pk,
                tombstone: !produces,
                forced: false,
                timestamp: c.timestamp,
                headers: c.headers.clone(),
                position: c.position,
            });
        }
    }

    /// Where the left table's primary key columns are in its rows.
    fn left_key_positions(&self) -> Vec<usize> {
        match &self.level.left {
            JoinLeft::Source { source, .. } => source
                .schema
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.kind == crate::types::ColumnKind::Key)
                .map(|(i, _)| i)
                .collect(),
            JoinLeft::Join(_) => vec![0],
        }
    }

    fn stream_stream(
        &mut self,
        input: usize,
        c: Change,
        (before, after, grace): (i64, i64, Option<i64>),
        out: &mut Vec<Joined>,
        reporter: &mut Reporter<'_>,
    ) {
        if c.tombstone || c.key.is_null() {
            return;
        }
        self.stream_time = self.stream_time.max(c.timestamp);
        let side_time = &mut self.side_time[input.min(1)];
        *side_time = (*side_time).max(c.timestamp);
        let grace_ms = grace.unwrap_or(24 * 60 * 60 * 1000);
        // Each side's window store keeps a record for the join window plus grace, measured
        // from the newest record of that side: an older record still joins what the other
        // side holds, but is not kept for later records to find.
        let retention = before.saturating_add(after).saturating_add(grace_ms);
        let stored = c.timestamp > self.side_time[input.min(1)].saturating_sub(retention);
        if !stored {
            reporter.skipped(
                format!(
                    "Not keeping a record older than the join window's retention (stream time {})",
                    self.stream_time
                ),
                c.position,
            );
        }
        let delayed = grace.is_some();
        // Kafka Streams releases closed outer-join results when a record at stream time
        // arrives.
        let at_stream_time = c.timestamp == self.stream_time;
        let others = if input == 0 {
            &mut self.right_buffer
        } else {
            &mut self.left_buffer
        };
        let mut matched = false;
        if let Some(candidates) = others.get_mut(&c.key) {
            for other in candidates.iter_mut() {
                // left.ts - before <= right.ts <= left.ts + after
                let (left_ts, right_ts) = if input == 0 {
                    (c.timestamp, other.timestamp)
                } else {
                    (other.timestamp, c.timestamp)
                };
                if right_ts < left_ts - before || right_ts > left_ts + after {
                    continue;
                }
                matched = true;
                other.matched = true;
                other.pending = false;
                let (left, right) = if input == 0 {
                    (Some(c.row.clone()), Some(other.row.clone()))
                } else {
                    (Some(other.row.clone()), Some(c.row.clone()))
                };
                out.push(Joined {
                    left,
                    right,
                    key: c.key.clone(),
                    tombstone: false,
                    forced: false,
                    timestamp: c.timestamp.max(other.timestamp),
                    headers: c.headers.clone(),
                    position: c.position,
                });
            }
        }
        let outer_for_me = match self.level.join_type {
            JoinType::Inner => false,
            JoinType::Left => input == 0,
            JoinType::Right => input == 1,
            JoinType::Full => true,
        };
        // The window of this record: the other side's records it can join.
        let window_end = c.timestamp + if input == 0 { after } else { before };
        // Without a grace period, or once its window has passed, an unmatched record gets its
        // outer result at once.
        let immediate = !delayed || window_end < self.stream_time;
        if !matched && outer_for_me && immediate {
            let (left, right) = if input == 0 {
                (Some(c.row.clone()), None)
            } else {
                (None, Some(c.row.clone()))
            };
            out.push(Joined {
                left,
                right,
                key: c.key.clone(),
                tombstone: false,
                forced: false,
                timestamp: c.timestamp,
                headers: c.headers.clone(),
                position: c.position,
            });
        }
        let pending = !matched && outer_for_me && !immediate;
        if pending {
            self.earliest_pending_end = self.earliest_pending_end.min(window_end);
        }
        if !stored {
            if delayed && at_stream_time {
                self.release_unmatched(before, after, grace_ms, out);
            }
            return;
        }
        let mine = if input == 0 {
            &mut self.left_buffer
        } else {
            &mut self.right_buffer
        };
        mine.get_or_insert_with(c.key.clone(), Vec::new)
            .push(Buffered {
                row: c.row,
                timestamp: c.timestamp,
                headers: c.headers,
                position: c.position,
                matched,
                pending,
            });
        if delayed && at_stream_time {
            self.release_unmatched(before, after, grace_ms, out);
        }
        self.expire_buffered(before.max(after), grace_ms);
    }

    /// Drops buffered records no future record can join, so the buffers stay bounded. A new
    /// record is at most `reach + grace` older than stream time and joins records up to
    /// `reach` older than itself. Runs once per half of that span of stream time.
    fn expire_buffered(&mut self, reach: i64, grace: i64) {
        if self.stream_time < self.next_expiry {
            return;
        }
        let span = reach.saturating_mul(2).saturating_add(grace);
        self.next_expiry = self.stream_time.saturating_add((span / 2).max(1000));
        let horizon = self.stream_time.saturating_sub(span);
        for buffer in [&mut self.left_buffer, &mut self.right_buffer] {
            buffer.update_all(|_, records| {
                let before = records.len();
                records.retain(|r| r.pending || r.timestamp >= horizon);
                match records.len() {
                    0 => Update::Remove,
                    n if n == before => Update::Unchanged,
                    _ => Update::Changed,
                }
            });
        }
    }

    /// Delayed outer joins: unmatched records whose window has closed get their null result.
    fn release_unmatched(&mut self, before: i64, after: i64, grace: i64, out: &mut Vec<Joined>) {
        let close = self.stream_time - grace;
        // Nothing pending closes before the earliest pending window end.
        if close <= self.earliest_pending_end {
            return;
        }
        let mut earliest = i64::MAX;
        let mut released: Vec<(i64, usize, Joined)> = Vec::new();
        for (side, buffer) in [
            (0usize, &mut self.left_buffer),
            (1usize, &mut self.right_buffer),
        ] {
            buffer.update_all(|key, records| {
                let mut update = Update::Unchanged;
                for r in records.iter_mut().filter(|r| r.pending) {
                    let window_end = if side == 0 {
                        r.timestamp + after
                    } else {
                        r.timestamp + before
                    };
                    if window_end >= close {
                        earliest = earliest.min(window_end);
                    } else {
                        r.pending = false;
                        update = Update::Changed;
                        let (left, right) = if side == 0 {
                            (Some(r.row.clone()), None)
                        } else {
                            (None, Some(r.row.clone()))
                        };
                        released.push((
                            r.timestamp,
                            side,
                            Joined {
                                left,
                                right,
                                key: key.clone(),
                                tombstone: false,
                                forced: false,
                                timestamp: r.timestamp,
                                headers: r.headers.clone(),
                                position: r.position,
                            },
                        ));
                    }
                }
                update
            });
        }
        self.earliest_pending_end = earliest;
        released.sort_by_key(|(ts, side, _)| (*ts, *side));
        out.extend(released.into_iter().map(|(_, _, j)| j));
    }
}

impl JoinOperator {
    /// WHERE and the projection over the joined rows.
    fn project(
        &mut self,
        joined: Vec<Joined>,
        reporter: &mut Reporter<'_>,
    ) -> Result<SinkRows, ExecError> {
        if joined.is_empty() {
            return Ok(SinkRows::default());
        }
        let scope = &self.plan.scope;
        // A foreign-key join has no join key of its own (its results are keyed by the left
        // table's primary key, projected from the left row).
        let foreign_key = self.plan.top.kind == JoinKind::ForeignKey;
        let no_key = || {
            scope
                .columns
                .last()
                .and_then(|c| ScalarValue::try_from(&c.ty.to_arrow()).ok())
                .unwrap_or(ScalarValue::Null)
        };
        let rows: Vec<Vec<ScalarValue>> = joined
            .iter()
            .map(|j| {
                let mut row = joined_row(j, &self.plan.top.joined);
                row.push(if foreign_key {
                    no_key()
                } else {
                    split_windowed(&j.key, self.plan.top.windowed.is_some()).0
                });
                row
            })
            .collect();
        let mut columns = Vec::with_capacity(scope.columns.len());
        for (c, column) in scope.columns.iter().enumerate() {
            let values = rows.iter().map(|r| r[c].clone()).collect();
            columns.push(to_array(values, &column.ty.to_arrow()).map_err(ExecError::internal)?);
        }
        let batch = batch_of(scope.arrow_schema(), columns, rows.len())?;
        self.finish(batch, joined, reporter)
    }

    /// WHERE and the projection over a batch of join results (of the join scope); the
    /// results' own rows are not read again.
    fn finish(
        &mut self,
        batch: datafusion::arrow::record_batch::RecordBatch,
        joined: Vec<Joined>,
        reporter: &mut Reporter<'_>,
    ) -> Result<SinkRows, ExecError> {
        let positions: Vec<(u32, u64)> = joined.iter().map(|j| j.position).collect();
        let filter = match &self.plan.filter {
            Some(f) => Some(evaluate(f, &batch, &positions, reporter)?),
            None => None,
        };
        let outputs = self
            .plan
            .outputs
            .iter()
            .map(|o| evaluate(&o.expr, &batch, &positions, reporter))
            .collect::<Result<Vec<_>, _>>()?;
        let table_output = matches!(
            self.plan.top.kind,
            JoinKind::TableTable | JoinKind::ForeignKey
        );
        let windowed = self.plan.top.windowed.is_some();
        // The result's key is the join key, whichever side's column the projection names
        // (unless PARTITION BY re-keys it).
        let keyed_by_join = !self.plan.rekeyed && self.plan.top.kind != JoinKind::ForeignKey;
        let mut outputs = outputs;
        let mut keys = Vec::with_capacity(joined.len());
        let mut rows = Vec::with_capacity(joined.len());
        for (i, j) in joined.into_iter().enumerate() {
            let passes = filter.as_ref().is_none_or(|f| {
                f.as_boolean_opt()
                    .is_some_and(|b| b.is_valid(i) && b.value(i))
            });
            let (key, window) = split_windowed(&j.key, windowed);
            keys.push(key);
            let tombstone = if table_output {
                let was = self.emitted.get(&j.key).copied().unwrap_or(false);
                if j.tombstone || !passes {
                    if !was && !j.forced {
                        continue;
                    }
                    self.emitted.put(j.key.clone(), false);
                    true
                } else {
                    self.emitted.put(j.key.clone(), true);
                    false
                }
            } else {
                if !passes {
                    continue;
                }
                false
            };
            rows.push((
                i,
                RowMeta {
                    tombstone,
                    null_key: false,
                    timestamp: j.timestamp,
                    headers: j.headers,
                    window,
                    position: j.position,
                },
            ));
        }
        if keyed_by_join
            && !keys.is_empty()
            && let Some(first) = outputs.first_mut()
        {
            *first = key_column(keys, first)?;
        }
        Ok(SinkRows::Columns {
            columns: outputs,
            rows,
        })
    }
}

/// The join keys as a column of the key output's type (`output`), as each key value would be
/// cast on its own: a key that cannot be cast keeps its own value.
fn key_column(
    keys: Vec<ScalarValue>,
    output: &datafusion::arrow::array::ArrayRef,
) -> Result<datafusion::arrow::array::ArrayRef, ExecError> {
    let data_type = output.data_type();
    let cast: Vec<ScalarValue> = keys
        .into_iter()
        .map(|key| key.cast_to(data_type).unwrap_or(key))
        .collect();
    if cast
        .iter()
        .all(|k| k.is_null() || &k.data_type() == data_type)
    {
        let typed = cast.into_iter().map(|k| {
            if k.is_null() {
                ScalarValue::try_from(data_type).unwrap_or(k)
            } else {
                k
            }
        });
        return ScalarValue::iter_to_array(typed).map_err(ExecError::internal);
    }
    Err(ExecError::internal(format!(
        "a join key that is not of the key column's type {data_type}"
    )))
}

/// The key of a record of a windowed source: its key and its window, so that records join
/// only within one window.
fn windowed_key(
    key: ScalarValue,
    start: &ScalarValue,
    end: &ScalarValue,
) -> Result<ScalarValue, ExecError> {
    use datafusion::arrow::array::StructArray;
    use datafusion::arrow::datatypes::{DataType, Field, Fields};
    let fields = Fields::from(vec![
        Field::new("key", key.data_type(), true),
        Field::new("start", DataType::Int64, true),
        Field::new("end", DataType::Int64, true),
    ]);
    let arrays = vec![
        key.to_array().map_err(ExecError::internal)?,
        start.to_array().map_err(ExecError::internal)?,
        end.to_array().map_err(ExecError::internal)?,
    ];
    let array = StructArray::try_new(fields, arrays, None).map_err(ExecError::internal)?;
    Ok(ScalarValue::Struct(std::sync::Arc::new(array)))
}

/// A join key as the result carries it, and its window when the sources are windowed.
fn split_windowed(key: &ScalarValue, windowed: bool) -> (ScalarValue, Option<(i64, i64)>) {
    let ScalarValue::Struct(array) = key else {
        return (key.clone(), None);
    };
    if !windowed {
        return (key.clone(), None);
    }
    let part = |name: &str| {
        array
            .column_by_name(name)
            .and_then(|c| ScalarValue::try_from_array(c, 0).ok())
    };
    let bound = |name: &str| match part(name) {
        Some(ScalarValue::Int64(Some(v))) => Some(v),
        _ => None,
    };
    match (part("key"), bound("start"), bound("end")) {
        (Some(inner), Some(start), Some(end)) if array.num_columns() == 3 => {
            (inner, Some((start, end)))
        }
        _ => (key.clone(), None),
    }
}

/// A left row's primary key: its one key column or, for a multi-column key, a value that is
/// equal exactly when all the columns are (the key columns themselves are projected from the
/// row).
fn primary_key(row: &Row, positions: &[usize]) -> ScalarValue {
    let value = |i: &usize| row.get(*i).cloned().unwrap_or(ScalarValue::Null);
    match positions {
        [one] => value(one),
        many => ScalarValue::Utf8(Some(format!(
            "{:?}",
            many.iter().map(value).collect::<Vec<_>>()
        ))),
    }
}

struct Change {
    row: Row,
    key: ScalarValue,
    tombstone: bool,
    timestamp: i64,
    headers: Headers,
    position: (u32, u64),
}

/// A join result's row: the left input's columns, then the right's (nulls for a missing side).
fn joined_row(j: &Joined, scope: &crate::plan::expr::Scope) -> Row {
    let left_len = j
        .left
        .as_ref()
        .map(Vec::len)
        .unwrap_or(scope.columns.len() - j.right.as_ref().map(Vec::len).unwrap_or(0));
    let null = |i: usize| {
        ScalarValue::try_from(&scope.columns[i].ty.to_arrow()).unwrap_or(ScalarValue::Null)
    };
    let mut row: Row = match &j.left {
        Some(l) => l.clone(),
        None => (0..left_len).map(null).collect(),
    };
    match &j.right {
        Some(r) => row.extend(r.iter().cloned()),
        None => row.extend((left_len..scope.columns.len()).map(null)),
    }
    row
}

/// Decoded records as changes of one join input, keyed by its join expression.
fn changes_from_records(
    key: &crate::plan::expr::Compiled,
    width: usize,
    windowed: bool,
    decoded: &DecodedBatch,
    reporter: &mut Reporter<'_>,
) -> Result<Vec<Change>, ExecError> {
    let keys = evaluate(key, &decoded.batch, &decoded.positions, reporter)?;
    let rowtime_index = width - 3;
    let mut changes = Vec::with_capacity(decoded.batch.num_rows());
    for i in 0..decoded.batch.num_rows() {
        let row: Row = (0..width)
            .map(|c| ScalarValue::try_from_array(decoded.batch.column(c), i))
            .collect::<Result<_, _>>()
            .map_err(ExecError::internal)?;
        let mut key = ScalarValue::try_from_array(&keys, i).map_err(ExecError::internal)?;
        if windowed {
            key = windowed_key(key, &row[width - 5], &row[width - 4])?;
        }
        let timestamp = match &row[rowtime_index] {
            ScalarValue::Int64(Some(t)) => *t,
            _ => 0,
        };
        changes.push(Change {
            row,
            key,
            tombstone: decoded.tombstone[i],
            timestamp,
            headers: decoded.headers[i].clone(),
            position: decoded.positions[i],
        });
    }
    Ok(changes)
}

/// A join whose results feed an aggregation: the joined rows, with the result's timestamp as
/// ROWTIME, become the aggregation's input batches.
pub struct JoinFeed {
    top: LevelState,
    /// The aggregation's input scope: the joined columns, then ROWTIME, ROWPARTITION and
    /// ROWOFFSET.
    scope: crate::plan::expr::Scope,
}

impl JoinFeed {
    pub fn new(level: &JoinLevel, scope: crate::plan::expr::Scope) -> JoinFeed {
        JoinFeed {
            top: LevelState::new(level),
            scope,
        }
    }

    /// Joins one input's records; returns the joined rows as a batch, if any.
    pub fn process(
        &mut self,
        input: usize,
        decoded: DecodedBatch,
        reporter: &mut Reporter<'_>,
    ) -> Result<Option<DecodedBatch>, ExecError> {
        let joined = self.top.process(input, &decoded, reporter)?;
        if joined.is_empty() {
            return Ok(None);
        }
        let rows: Vec<Row> = joined
            .iter()
            .map(|j| {
                let mut row = joined_row(j, &self.top.level.joined);
                row.push(ScalarValue::Int64(Some(j.timestamp)));
                row.push(ScalarValue::Int32(Some(j.position.0 as i32)));
                row.push(ScalarValue::Int64(Some(j.position.1 as i64)));
                row
            })
            .collect();
        let mut columns = Vec::with_capacity(self.scope.columns.len());
        for (c, column) in self.scope.columns.iter().enumerate() {
            let values = rows.iter().map(|r| r[c].clone()).collect();
            columns.push(to_array(values, &column.ty.to_arrow()).map_err(ExecError::internal)?);
        }
        let batch = batch_of(self.scope.arrow_schema(), columns, rows.len())?;
        Ok(Some(DecodedBatch {
            batch,
            headers: joined.iter().map(|j| j.headers.clone()).collect(),
            tombstone: joined.iter().map(|j| j.tombstone).collect(),
            null_key: vec![false; joined.len()],
            positions: joined.iter().map(|j| j.position).collect(),
        }))
    }
}

impl Encode for Buffered {
    fn encode(&self, out: &mut Vec<u8>) {
        (&self.row, self.timestamp, &self.headers).encode(out);
        (self.position, self.matched, self.pending).encode(out);
    }
}

impl Decode for Buffered {
    fn decode(input: &mut Input<'_>) -> codec::Result<Self> {
        let (row, timestamp, headers) = Decode::decode(input)?;
        let (position, matched, pending) = Decode::decode(input)?;
        Ok(Buffered {
            row,
            timestamp,
            headers,
            position,
            matched,
            pending,
        })
    }
}

/// The store id of a join's result flags; each level of a join has ids from
/// [`FIRST_LEVEL_ID`] on, [`IDS_PER_LEVEL`] a level (an aggregation's are below).
const EMITTED_ID: StoreId = 10;
const FIRST_LEVEL_ID: StoreId = 16;
const IDS_PER_LEVEL: StoreId = 8;

impl LevelState {
    /// The level's stores, then its inner join's, numbered by depth.
    fn visit_stores(&mut self, depth: StoreId, f: &mut dyn FnMut(StoreId, &mut dyn StoreLog)) {
        let base = FIRST_LEVEL_ID.saturating_add(depth.saturating_mul(IDS_PER_LEVEL));
        f(base, &mut logged(&mut self.left_table));
        f(base + 1, &mut logged(&mut self.right_table));
        f(base + 2, &mut logged(&mut self.references));
        f(base + 3, &mut logged(&mut self.left_by_pk));
        f(base + 4, &mut logged(&mut self.left_buffer));
        f(base + 5, &mut logged(&mut self.right_buffer));
        if let Some(inner) = &mut self.inner {
            inner.visit_stores(depth.saturating_add(1), f);
        }
    }

    fn save_scalars(&self, out: &mut Vec<u8>) {
        (self.stream_time, self.side_time[0], self.side_time[1]).encode(out);
        (self.earliest_pending_end, self.next_expiry).encode(out);
        if let Some(inner) = &self.inner {
            inner.save_scalars(out);
        }
    }

    fn load_scalars(&mut self, input: &mut Input<'_>) -> codec::Result<()> {
        (self.stream_time, self.side_time[0], self.side_time[1]) = Decode::decode(input)?;
        (self.earliest_pending_end, self.next_expiry) = Decode::decode(input)?;
        match &mut self.inner {
            Some(inner) => inner.load_scalars(input),
            None => Ok(()),
        }
    }
}

impl Stateful for JoinOperator {
    fn visit_stores(&mut self, f: &mut dyn FnMut(StoreId, &mut dyn StoreLog)) {
        f(EMITTED_ID, &mut logged(&mut self.emitted));
        self.top.visit_stores(0, f);
    }

    fn save_scalars(&self, out: &mut Vec<u8>) {
        self.top.save_scalars(out);
    }

    fn load_scalars(&mut self, input: &mut Input<'_>) -> codec::Result<()> {
        self.top.load_scalars(input)
    }
}

impl Stateful for JoinFeed {
    fn visit_stores(&mut self, f: &mut dyn FnMut(StoreId, &mut dyn StoreLog)) {
        self.top.visit_stores(0, f);
    }

    fn save_scalars(&self, out: &mut Vec<u8>) {
        self.top.save_scalars(out);
    }

    fn load_scalars(&mut self, input: &mut Input<'_>) -> codec::Result<()> {
        self.top.load_scalars(input)
    }
}
