//! The aggregation stage: groups, windows, accumulators and HAVING.
//!
//! Input rows become *changes*: a stream row is an addition; a table row retracts the previous
//! row of its key (if any) and adds the new one, so aggregates over tables can subtract. Each
//! change updates the accumulators of its group (and window) and, with caching off, produces one
//! output row, in input order. Windows follow Kafka Streams: each task keeps *stream time*, the
//! largest timestamp seen, and a window accepts records until stream time passes its end plus
//! the grace period. EMIT FINAL holds a window's result back until the window closes.

mod columnar;
mod index;

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::ScalarValue;
use smallvec::SmallVec;

use super::builder::ColumnBuilder;
use super::decode::DecodedBatch;
use super::sink::{RowMeta, SinkRow, SinkRows};
use super::state::{Stateful, Store, StoreId, StoreLog, Update, ValueCodec, logged, logged_with};
use super::{ExecError, Headers, Reporter, batch_of, evaluate};
use crate::functions::aggregate::{Accumulator, AggregateContext};
use crate::functions::util::to_array;
use crate::plan::aggregate::AggregatePlan;
use crate::sql::ast::{Emit, SourceKind, WindowType};
use crate::types::codec::{self, CodecError, Decode, Encode, Input};

/// ksqlDB's default grace period for windows without one: 24 hours.
const DEFAULT_GRACE_MS: i64 = 24 * 60 * 60 * 1000;

/// The least stream time between two passes that drop expired windows.
const EXPIRY_INTERVAL_MS: i64 = 1000;

/// A group: its key columns in Arrow's row format, then the window start (0 without a
/// window), big-endian. Bytes hash and compare far faster than `ScalarValue`s, a lookup needs
/// no allocation, and a short key sits inside the hash table's own memory.
type GroupId = SmallVec<[u8; 32]>;

/// An EMIT FINAL result's identity: its key values and window start.
type OutputId = (Vec<ScalarValue>, i64);

/// The window start a group id ends with.
fn window_start_of(id: &[u8]) -> i64 {
    id.len()
        .checked_sub(8)
        .and_then(|at| id[at..].try_into().ok())
        .map_or(0, i64::from_be_bytes)
}

/// Writes a group id into `out`.
fn write_group_id(out: &mut GroupId, key: &[u8], start: i64) {
    out.clear();
    out.extend_from_slice(key);
    out.extend_from_slice(&start.to_be_bytes());
}

#[derive(Debug, Clone)]
struct GroupState {
    /// The group's key values, kept only when its id cannot give them back (see
    /// [`KeyEncoder::keeps_values`]); otherwise empty.
    key: Vec<ScalarValue>,
    accumulators: Vec<Box<dyn Accumulator>>,
    /// The largest timestamp that contributed.
    max_timestamp: i64,
    /// Whether the group's last output was a value (not a tombstone, not filtered by HAVING).
    emitted: bool,
}

#[derive(Debug, Clone)]
struct Session {
    start: i64,
    end: i64,
    state: GroupState,
}

/// A change produced by the aggregation, before HAVING and the projection.
struct Emitted {
    id: GroupId,
    /// The row of the aggregate scope.
    row: Vec<ScalarValue>,
    /// A session that was merged away: its key is written as a tombstone.
    removed: bool,
    window: Option<(i64, i64)>,
    timestamp: i64,
    headers: Headers,
    position: (u32, u64),
}

impl Emitted {
    /// How the change's row is written: a tombstone or its value.
    fn meta(self, tombstone: bool) -> RowMeta {
        RowMeta {
            tombstone,
            null_key: false,
            timestamp: self.timestamp,
            headers: self.headers,
            window: self.window,
            position: self.position,
        }
    }
}

pub struct AggregateOperator {
    plan: AggregatePlan,
    properties: BTreeMap<String, String>,
    groups: Store<GroupId, GroupState>,
    /// Per group key (row format): its open sessions.
    sessions: Store<Vec<u8>, Vec<Session>>,
    /// For table sources: the current row of each source key.
    table_rows: Store<Vec<ScalarValue>, Vec<ScalarValue>>,
    /// Sessions whose last output was a value (groups keep this in their state).
    emitted: Store<GroupId, bool>,
    stream_time: i64,
    /// EMIT FINAL: the latest result of each open window, with its first-update order.
    suppressed: Store<OutputId, (u64, SinkRow)>,
    suppressed_order: u64,
    /// EMIT FINAL: the close time at which windows were last emitted.
    last_emit_close: Option<i64>,
    /// The stream time at which expired windows are next dropped.
    next_expiry: i64,
    /// The state of a group that has seen nothing, cloned for each new group.
    fresh_state: Option<GroupState>,
    /// Encodes GROUP BY values into group ids.
    keys: KeyEncoder,
    /// The groups' state when the plan takes the columnar path (see [`columnar`]); `groups`
    /// is then unused.
    columnar: Option<columnar::ColumnarGroups>,
}

impl AggregateOperator {
    pub fn new(plan: AggregatePlan, properties: BTreeMap<String, String>) -> AggregateOperator {
        AggregateOperator {
            columnar: columnar::ColumnarGroups::for_plan(&plan),
            plan,
            properties,
            groups: Store::new(),
            sessions: Store::new(),
            table_rows: Store::new(),
            emitted: Store::new(),
            stream_time: i64::MIN,
            suppressed: Store::new(),
            suppressed_order: 0,
            last_emit_close: None,
            next_expiry: i64::MIN,
            fresh_state: None,
            keys: KeyEncoder::default(),
        }
    }

    /// Marks the input columns the aggregation reads; false when it cannot tell.
    pub fn mark_columns_read(&self, read: &mut [bool]) -> bool {
        self.plan
            .filter
            .iter()
            .chain(&self.plan.group_by)
            .chain(self.plan.aggregates.iter().flat_map(|a| &a.args))
            .all(|e| e.mark_columns_read(read))
    }

    fn grace_ms(&self) -> i64 {
        self.plan
            .window
            .as_ref()
            .and_then(|w| w.grace_ms)
            // EMIT FINAL without a grace period closes windows at their end.
            .unwrap_or(if self.plan_emits_final() {
                0
            } else {
                DEFAULT_GRACE_MS
            })
    }

    fn new_state(&self) -> Result<GroupState, ExecError> {
        let accumulators = self
            .plan
            .aggregates
            .iter()
            .map(|call| {
                (call.factory)(&AggregateContext {
                    signature: call.signature.clone(),
                    literals: call.literals.clone(),
                    properties: self.properties.clone(),
                })
                .map_err(ExecError::Internal)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(GroupState {
            key: Vec::new(),
            accumulators,
            max_timestamp: i64::MIN,
            emitted: false,
        })
    }

    pub fn process(
        &mut self,
        decoded: DecodedBatch,
        reporter: &mut Reporter<'_>,
    ) -> Result<SinkRows, ExecError> {
        // Windows close as stream time advances record by record.
        if self.plan_emits_final() && decoded.num_rows() > 1 {
            let mut rows = Vec::new();
            for index in 0..decoded.num_rows() {
                rows.extend(
                    self.process_batch(decoded.row(index), reporter)?
                        .into_rows()?,
                );
            }
            return Ok(SinkRows::Rows(rows));
        }
        self.process_batch(decoded, reporter)
    }

    fn process_batch(
        &mut self,
        decoded: DecodedBatch,
        reporter: &mut Reporter<'_>,
    ) -> Result<SinkRows, ExecError> {
        let (changes, weights, headers, positions) = self.changes(decoded)?;
        if weights.is_empty() {
            return Ok(SinkRows::default());
        }
        // The filter applies to each change: a retraction of a row that never passed is dropped
        // just like the row was.
        let keep: Vec<bool> = match &self.plan.filter {
            None => vec![true; weights.len()],
            Some(f) => {
                let mask = evaluate(f, &changes, &positions, reporter)?;
                let mask = mask.as_boolean_opt().cloned();
                (0..weights.len())
                    .map(|i| mask.as_ref().is_some_and(|m| m.is_valid(i) && m.value(i)))
                    .collect()
            }
        };
        let groups = self
            .plan
            .group_by
            .iter()
            .map(|g| evaluate(g, &changes, &positions, reporter))
            .collect::<Result<Vec<_>, _>>()?;
        let mut args: Vec<Vec<ArrayRef>> = Vec::with_capacity(self.plan.aggregates.len());
        for call in &self.plan.aggregates {
            args.push(
                call.args
                    .iter()
                    .map(|a| evaluate(a, &changes, &positions, reporter))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        let rowtime_index = self
            .plan
            .scope
            .columns
            .iter()
            .rposition(|c| c.name == "ROWTIME")
            .ok_or_else(|| ExecError::internal("no ROWTIME column"))?;
        let rowtime = changes.column(rowtime_index).clone();
        let rowtime = rowtime
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| ExecError::internal("ROWTIME is not BIGINT"))?;

        let key_rows = self.keys.encode(&groups)?;
        if self.columnar.is_some() {
            let prepared = columnar::Prepared {
                keep: &keep,
                groups: &groups,
                args: &args,
                rowtime,
                key_rows: &key_rows,
                headers: &headers,
                positions: &positions,
            };
            return self.process_columnar(prepared, reporter);
        }
        let group_nulls: Vec<_> = groups.iter().map(|g| g.logical_nulls()).collect();
        let key_of = |row: usize| -> Result<GroupKey<'_>, ExecError> {
            Ok(GroupKey {
                bytes: key_rows.row(row),
                columns: &groups,
                row,
            })
        };
        let mut id = GroupId::with_capacity(32);
        let mut emitted: Vec<Emitted> = Vec::new();
        // One row's argument values per aggregate call, reused from row to row.
        let mut row_args: Vec<Vec<ScalarValue>> =
            args.iter().map(|a| Vec::with_capacity(a.len())).collect();
        for row in 0..weights.len() {
            if !keep[row] {
                continue;
            }
            let key = key_of(row)?;
            // A table update that stays in the same group is one change: the retraction is
            // applied silently and the addition that follows emits the result.
            let silent = weights[row] < 0
                && row + 1 < weights.len()
                && weights[row + 1] > 0
                && positions[row + 1] == positions[row]
                && keep[row + 1]
                && key_rows.row(row + 1) == key.bytes;
            if group_nulls.iter().flatten().any(|n| n.is_null(row)) {
                reporter.skipped(
                    "Skipping record with a null GROUP BY key".to_string(),
                    positions[row],
                );
                continue;
            }
            for (values, call_args) in row_args.iter_mut().zip(&args) {
                values.clear();
                for a in call_args {
                    values.push(ScalarValue::try_from_array(a, row).map_err(ExecError::internal)?);
                }
            }
            let timestamp = rowtime.value(row);
            let weight = weights[row];
            if weight > 0 {
                self.stream_time = self.stream_time.max(timestamp);
            }
            let context = ChangeContext {
                weight,
                timestamp,
                headers: &headers[row],
                position: positions[row],
            };
            let before = emitted.len();
            match self.plan.window.as_ref().map(|w| w.window_type) {
                None => {
                    write_group_id(&mut id, key.bytes, 0);
                    self.apply(&id, &key, None, &row_args, &context, reporter, &mut emitted)?
                }
                Some(WindowType::Session) => {
                    self.apply_session(&key, &row_args, &context, reporter, &mut emitted)?
                }
                Some(_) => {
                    for (start, end) in self.open_windows(timestamp, positions[row], reporter) {
                        write_group_id(&mut id, key.bytes, start);
                        self.apply(
                            &id,
                            &key,
                            Some((start, end)),
                            &row_args,
                            &context,
                            reporter,
                            &mut emitted,
                        )?;
                    }
                }
            }
            if silent {
                emitted.truncate(before);
            }
        }
        let mut rows = self.project(emitted, reporter)?;
        if self.plan_emits_final() {
            rows = self.suppress(rows);
        }
        self.expire_windows();
        Ok(SinkRows::Rows(rows))
    }

    /// Drops the windows that have closed and left the window store's retention, so state
    /// stays bounded. Runs once per half retention of stream time.
    fn expire_windows(&mut self) {
        let Some(window) = &self.plan.window else {
            return;
        };
        if self.stream_time < self.next_expiry {
            return;
        }
        let grace = self.grace_ms();
        let closes_after = window.size_ms.saturating_add(grace);
        let retention = window.retention_ms.unwrap_or(0).max(closes_after);
        self.next_expiry = self
            .stream_time
            .saturating_add((retention / 2).max(EXPIRY_INTERVAL_MS));
        let horizon = self.stream_time.saturating_sub(retention);
        if window.window_type == WindowType::Session {
            let sessions = &mut self.sessions;
            sessions.update_all(|_, list| {
                let before = list.len();
                list.retain(|s| s.end >= horizon);
                match list.len() {
                    0 => Update::Remove,
                    n if n == before => Update::Unchanged,
                    _ => Update::Changed,
                }
            });
            self.emitted.update_all(|id, _| {
                let start = window_start_of(id);
                let key = id[..id.len().saturating_sub(8)].to_vec();
                let open = sessions
                    .get(&key)
                    .is_some_and(|list| list.iter().any(|s| s.start == start));
                if open {
                    Update::Unchanged
                } else {
                    Update::Remove
                }
            });
        } else {
            let expired = |id: &GroupId| window_start_of(id) < horizon;
            self.groups.update_all(|id, _| {
                if expired(id) {
                    Update::Remove
                } else {
                    Update::Unchanged
                }
            });
            if let Some(columnar) = &mut self.columnar {
                columnar.retain(&|id| window_start_of(id) >= horizon);
            }
            self.emitted.update_all(|id, _| {
                if expired(id) {
                    Update::Remove
                } else {
                    Update::Unchanged
                }
            });
        }
    }

    fn plan_emits_final(&self) -> bool {
        self.plan.emit == Some(Emit::Final)
    }

    /// The time windows a record falls in that have not closed, oldest first; those that have
    /// are logged as skipped.
    fn open_windows(
        &self,
        timestamp: i64,
        position: (u32, u64),
        reporter: &mut Reporter<'_>,
    ) -> SmallVec<[(i64, i64); 4]> {
        let closed_before = self.stream_time.saturating_sub(self.grace_ms());
        let mut windows = self.time_windows(timestamp);
        windows.retain(|&mut (start, end)| {
            let open = end > closed_before;
            if !open {
                reporter.skipped(
                    format!(
                        "Skipping record for expired window [{start}, {end}): stream time is {}",
                        self.stream_time
                    ),
                    position,
                );
            }
            open
        });
        windows
    }

    /// The time windows a timestamp falls in, oldest first.
    fn time_windows(&self, timestamp: i64) -> SmallVec<[(i64, i64); 4]> {
        let mut windows = SmallVec::new();
        let Some(window) = &self.plan.window else {
            return windows;
        };
        let size = window.size_ms.max(1);
        let advance = match window.window_type {
            WindowType::Hopping => window.advance_ms.unwrap_or(size).max(1),
            _ => size,
        };
        let mut start = timestamp - timestamp.rem_euclid(advance);
        while start > timestamp - size && start >= 0 {
            windows.push((start, start + size));
            start -= advance;
        }
        windows.reverse();
        windows
    }

    /// Applies one change to a group (and window) and records the group's new value.
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        id: &GroupId,
        key: &GroupKey<'_>,
        window: Option<(i64, i64)>,
        args: &[Vec<ScalarValue>],
        change: &ChangeContext<'_>,
        reporter: &mut Reporter<'_>,
        emitted: &mut Vec<Emitted>,
    ) -> Result<(), ExecError> {
        let windowed = self.plan.window.is_some();
        let mut change_state = |state: &mut GroupState| {
            if let Err(e) = update(state, args, change.weight) {
                reporter.expression_error(e, change.position);
            }
            state.max_timestamp = state.max_timestamp.max(change.timestamp);
            (aggregate_row(windowed, state, window), state.max_timestamp)
        };
        let (row, timestamp) = match self.groups.get_mut(id) {
            Some(state) => change_state(state),
            None => {
                let mut state = self.fresh_state(key)?;
                let changed = change_state(&mut state);
                self.groups.put(id.clone(), state);
                changed
            }
        };
        emitted.push(Emitted {
            id: id.clone(),
            row,
            removed: false,
            window,
            timestamp,
            headers: change.headers.clone(),
            position: change.position,
        });
        Ok(())
    }

    /// Session windows: the record's session merges every session within the gap of it.
    fn apply_session(
        &mut self,
        key: &GroupKey<'_>,
        args: &[Vec<ScalarValue>],
        change: &ChangeContext<'_>,
        reporter: &mut Reporter<'_>,
        emitted: &mut Vec<Emitted>,
    ) -> Result<(), ExecError> {
        let gap = self.plan.window.as_ref().map(|w| w.size_ms).unwrap_or(0);
        let ts = change.timestamp;
        // A session closes once no record within the gap can arrive before the grace ends.
        let close = self
            .stream_time
            .saturating_sub(self.grace_ms())
            .saturating_sub(gap);
        let session_key = key.bytes.to_vec();
        let mut sessions = self.sessions.remove(&session_key).unwrap_or_default();
        // Sessions that closed have left the store: nothing merges into them.
        sessions.retain(|s| s.end >= close);
        let (overlapping, rest): (Vec<Session>, Vec<Session>) = sessions
            .drain(..)
            .partition(|s| s.end >= ts - gap && s.start <= ts + gap);
        let mut merged = Session {
            start: ts,
            end: ts,
            state: self.fresh_state(key)?,
        };
        for old in &overlapping {
            merged.start = merged.start.min(old.start);
            merged.end = merged.end.max(old.end);
            for (acc, other) in merged
                .state
                .accumulators
                .iter_mut()
                .zip(&old.state.accumulators)
            {
                if let Err(e) = acc.merge(other.as_ref()) {
                    reporter.expression_error(e, change.position);
                }
            }
            merged.state.max_timestamp = merged.state.max_timestamp.max(old.state.max_timestamp);
            let mut id = GroupId::new();
            write_group_id(&mut id, key.bytes, old.start);
            emitted.push(Emitted {
                id,
                row: self.aggregate_row(&old.state, Some((old.start, old.end))),
                removed: true,
                window: Some((old.start, old.end)),
                timestamp: old.end,
                headers: change.headers.clone(),
                position: change.position,
            });
        }
        if merged.end < close {
            reporter.skipped(
                format!(
                    "Skipping record for an expired session: stream time is {}",
                    self.stream_time
                ),
                change.position,
            );
            let mut sessions = rest;
            sessions.extend(overlapping);
            self.sessions.put(session_key, sessions);
            emitted.retain(|e| !(e.removed && e.position == change.position));
            return Ok(());
        }
        if let Err(e) = update(&mut merged.state, args, change.weight) {
            reporter.expression_error(e, change.position);
        }
        merged.state.max_timestamp = merged.state.max_timestamp.max(ts);
        let mut id = GroupId::new();
        write_group_id(&mut id, key.bytes, merged.start);
        emitted.push(Emitted {
            id,
            row: self.aggregate_row(&merged.state, Some((merged.start, merged.end))),
            removed: false,
            window: Some((merged.start, merged.end)),
            timestamp: merged.state.max_timestamp,
            headers: change.headers.clone(),
            position: change.position,
        });
        let mut sessions = rest;
        sessions.push(merged);
        self.sessions.put(session_key, sessions);
        Ok(())
    }

    /// The aggregate-scope row of a group: group values, aggregate results, ROWTIME, window.
    fn aggregate_row(&self, state: &GroupState, window: Option<(i64, i64)>) -> Vec<ScalarValue> {
        aggregate_row(self.plan.window.is_some(), state, window)
    }

    /// A new group's state: the accumulators' initial state and the group's key values.
    fn fresh_state(&mut self, key: &GroupKey<'_>) -> Result<GroupState, ExecError> {
        let mut state = match &self.fresh_state {
            Some(state) => state.clone(),
            None => {
                let state = self.new_state()?;
                self.fresh_state = Some(state.clone());
                state
            }
        };
        if self.keys.keeps_values() {
            state.key = key.values()?;
        }
        Ok(state)
    }

    /// Applies HAVING and the projection to the changed groups.
    fn project(
        &mut self,
        mut emitted: Vec<Emitted>,
        reporter: &mut Reporter<'_>,
    ) -> Result<Vec<SinkRow>, ExecError> {
        if emitted.is_empty() {
            return Ok(Vec::new());
        }
        let scope = &self.plan.aggregate_scope;
        let mut columns = Vec::with_capacity(scope.columns.len());
        // The key columns come back from the group ids in one pass, unless the rows carry
        // them.
        let built = if self.keys.keeps_values() {
            &scope.columns[..]
        } else {
            let ids = emitted
                .iter()
                .map(|e| &e.id[..e.id.len().saturating_sub(8)]);
            columns.extend(self.keys.decode(ids)?);
            &scope.columns[columns.len()..]
        };
        let mut builders: Vec<ColumnBuilder> = built
            .iter()
            .map(|c| ColumnBuilder::new(&c.ty, emitted.len()))
            .collect();
        for e in &mut emitted {
            for (builder, value) in builders.iter_mut().zip(e.row.drain(..)) {
                builder.append_scalar(value)?;
            }
        }
        for builder in builders {
            columns.push(builder.finish()?);
        }
        let batch = batch_of(scope.arrow_schema(), columns, emitted.len())?;
        let positions: Vec<(u32, u64)> = emitted.iter().map(|e| e.position).collect();
        let (having, outputs) = having_and_outputs(&self.plan, &batch, &positions, reporter)?;
        // Without HAVING, a group's change is always written (only merged sessions become
        // tombstones), so no group needs looking up again.
        let always_written = having.is_none()
            && self.plan.window.as_ref().map(|w| w.window_type) != Some(WindowType::Session);
        let mut rows = Vec::with_capacity(emitted.len());
        for (i, e) in emitted.into_iter().enumerate() {
            if always_written {
                let values = row_values(&outputs, i)?;
                rows.push(SinkRow {
                    values,
                    meta: e.meta(false),
                });
                continue;
            }
            let passes = having.as_ref().is_none_or(|h| {
                h.as_boolean_opt()
                    .is_some_and(|b| b.is_valid(i) && b.value(i))
            });
            // Groups keep their flag in their own state; sessions in the `emitted` store.
            let group = self.groups.get_mut(&e.id);
            let was_emitted = match &group {
                Some(state) => state.emitted,
                None => self.emitted.get(&e.id).copied().unwrap_or(false),
            };
            let now_emitted = passes && !e.removed;
            match group {
                Some(state) => state.emitted = now_emitted,
                None if e.removed => {
                    self.emitted.remove(&e.id);
                }
                None if now_emitted != was_emitted => {
                    self.emitted.put(e.id.clone(), now_emitted);
                }
                None => {}
            }
            let Some(tombstone) = outcome(e.removed, passes, was_emitted) else {
                continue;
            };
            rows.push(SinkRow {
                values: row_values(&outputs, i)?,
                meta: e.meta(tombstone),
            });
        }
        Ok(rows)
    }

    /// EMIT FINAL: keeps the latest row of each window and releases the windows that stream
    /// time has closed.
    ///
    /// Time windows follow Kafka Streams' emit-on-window-close: each time the close time
    /// (stream time minus grace) advances, the windows starting in
    /// `[last close - size, close - size]` are emitted, but only those still retained by the
    /// window store, which keeps a window until stream time passes its start plus the
    /// retention (by default size plus grace).
    fn suppress(&mut self, rows: Vec<SinkRow>) -> Vec<SinkRow> {
        let key_count = self
            .plan
            .outputs
            .iter()
            .filter(|o| o.kind == crate::types::ColumnKind::Key)
            .count();
        for row in rows {
            let id = (
                row.values[..key_count].to_vec(),
                row.meta.window.map(|w| w.0).unwrap_or(0),
            );
            let order = self.suppressed_order;
            match self.suppressed.get_mut(&id) {
                Some((_, existing)) => *existing = row,
                None => {
                    self.suppressed_order += 1;
                    self.suppressed.put(id, (order, row));
                }
            }
        }
        let Some(window) = self.plan.window.clone() else {
            return Vec::new();
        };
        let grace = self.grace_ms();
        let close = self.stream_time.saturating_sub(grace);
        let ready: Vec<OutputId> = if window.window_type == WindowType::Session {
            self.suppressed
                .iter()
                .filter(|(_, (_, r))| r.meta.window.is_some_and(|(_, end)| end <= close))
                .map(|(id, _)| id.clone())
                .collect()
        } else {
            if self.last_emit_close.is_some_and(|last| close <= last) {
                return Vec::new();
            }
            let size = window.size_ms;
            let upper = close.saturating_sub(size);
            if upper < 0 {
                return Vec::new();
            }
            let retained_from = self
                .stream_time
                .saturating_sub(window.retention_ms.unwrap_or(size.saturating_add(grace)));
            let lower = self
                .last_emit_close
                .map_or(0, |last| last.saturating_sub(size).max(0))
                .max(retained_from);
            self.last_emit_close = Some(close);
            // Windows the store no longer retains are never emitted.
            self.suppressed.update_all(|(_, start), _| {
                if *start >= retained_from {
                    Update::Unchanged
                } else {
                    Update::Remove
                }
            });
            let closing = lower..=upper;
            self.suppressed
                .iter()
                .map(|(id, _)| id)
                .filter(|(_, start)| closing.contains(start))
                .cloned()
                .collect()
        };
        let mut ready: Vec<(u64, SinkRow)> = ready
            .iter()
            .filter_map(|id| self.suppressed.remove(id))
            .collect();
        ready.sort_by_key(|(order, r)| (r.meta.window.map(|w| w.0).unwrap_or(0), *order));
        if window.window_type == WindowType::Session {
            ready.sort_by_key(|(order, r)| (r.meta.window.map(|w| w.1).unwrap_or(0), *order));
        }
        ready
            .into_iter()
            .map(|(_, r)| r)
            .filter(|r| !r.meta.tombstone)
            .collect()
    }

    /// Turns decoded rows into changes with weights: +1 for stream rows; for table rows, −1
    /// for the key's previous row and +1 for the new one.
    #[allow(clippy::type_complexity)]
    fn changes(
        &mut self,
        decoded: DecodedBatch,
    ) -> Result<
        (
            datafusion::arrow::record_batch::RecordBatch,
            Vec<i8>,
            Vec<Headers>,
            Vec<(u32, u64)>,
        ),
        ExecError,
    > {
        let DecodedBatch {
            batch,
            headers,
            tombstone,
            positions,
            ..
        } = decoded;
        if self.plan.source.kind == SourceKind::Stream {
            // A stream record without a value has nothing to aggregate.
            if tombstone.iter().any(|t| *t) {
                let keep: Vec<bool> = tombstone.iter().map(|t| !t).collect();
                let mask = datafusion::arrow::array::BooleanArray::from(keep.clone());
                let filtered = datafusion::arrow::compute::filter_record_batch(&batch, &mask)
                    .map_err(ExecError::internal)?;
                let pick = |i: &usize| keep[*i];
                let headers = (0..headers.len())
                    .filter(pick)
                    .map(|i| headers[i].clone())
                    .collect();
                let positions: Vec<(u32, u64)> = (0..positions.len())
                    .filter(pick)
                    .map(|i| positions[i])
                    .collect();
                let weights = vec![1; positions.len()];
                return Ok((filtered, weights, headers, positions));
            }
            let weights = vec![1; positions.len()];
            return Ok((batch, weights, headers, positions));
        }
        let key_count = self.plan.source.schema.key_columns().count();
        let scope = &self.plan.scope;
        let mut rows: Vec<Vec<ScalarValue>> = Vec::new();
        let mut weights = Vec::new();
        let mut out_headers = Vec::new();
        let mut out_positions = Vec::new();
        for i in 0..batch.num_rows() {
            let row = (0..batch.num_columns())
                .map(|c| ScalarValue::try_from_array(batch.column(c), i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(ExecError::internal)?;
            let key = row[..key_count].to_vec();
            let timestamp_index = scope.columns.len() - 3;
            if let Some(mut old) = self.table_rows.remove(&key) {
                // The retraction happens at the time of the change that causes it.
                old[timestamp_index] = row[timestamp_index].clone();
                rows.push(old);
                weights.push(-1);
                out_headers.push(headers[i].clone());
                out_positions.push(positions[i]);
            }
            if !tombstone[i] {
                self.table_rows.put(key, row.clone());
                rows.push(row);
                weights.push(1);
                out_headers.push(headers[i].clone());
                out_positions.push(positions[i]);
            }
        }
        let mut columns = Vec::with_capacity(scope.columns.len());
        for (c, column) in scope.columns.iter().enumerate() {
            let values = rows.iter().map(|r| r[c].clone()).collect();
            columns.push(to_array(values, &column.ty.to_arrow()).map_err(ExecError::internal)?);
        }
        let batch = batch_of(scope.arrow_schema(), columns, rows.len())?;
        Ok((batch, weights, out_headers, out_positions))
    }
}

/// HAVING (when the query has one) and the output columns over a batch of the aggregate
/// scope.
fn having_and_outputs(
    plan: &AggregatePlan,
    batch: &datafusion::arrow::record_batch::RecordBatch,
    positions: &[(u32, u64)],
    reporter: &mut Reporter<'_>,
) -> Result<(Option<ArrayRef>, Vec<ArrayRef>), ExecError> {
    let having = match &plan.having {
        Some(h) => Some(evaluate(h, batch, positions, reporter)?),
        None => None,
    };
    let outputs = plan
        .outputs
        .iter()
        .map(|o| evaluate(&o.expr, batch, positions, reporter))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((having, outputs))
}

/// What a group's change writes, given whether its session was merged away, whether it
/// passes HAVING and whether its last output was a value: `Some(true)` a tombstone,
/// `Some(false)` its row, `None` nothing.
fn outcome(removed: bool, passes: bool, was_emitted: bool) -> Option<bool> {
    match (removed, passes, was_emitted) {
        (true, _, true) => Some(true),
        (false, true, _) => Some(false),
        (false, false, true) => Some(true),
        _ => None,
    }
}

/// Row `i` of the output columns.
fn row_values(outputs: &[ArrayRef], i: usize) -> Result<Vec<ScalarValue>, ExecError> {
    outputs
        .iter()
        .map(|c| ScalarValue::try_from_array(c, i))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ExecError::internal)
}

/// The aggregate-scope row of a group: group values, aggregate results, ROWTIME, and for a
/// windowed query the window bounds.
fn aggregate_row(
    windowed: bool,
    state: &GroupState,
    window: Option<(i64, i64)>,
) -> Vec<ScalarValue> {
    let mut row = Vec::with_capacity(state.key.len() + state.accumulators.len() + 3);
    row.extend_from_slice(&state.key);
    row.extend(state.accumulators.iter().map(|a| a.value()));
    row.push(ScalarValue::Int64(Some(state.max_timestamp)));
    if let Some((start, end)) = window {
        row.push(ScalarValue::Int64(Some(start)));
        row.push(ScalarValue::Int64(Some(end)));
    } else if windowed {
        row.push(ScalarValue::Int64(None));
        row.push(ScalarValue::Int64(None));
    }
    row
}

struct ChangeContext<'a> {
    weight: i8,
    timestamp: i64,
    headers: &'a Headers,
    position: (u32, u64),
}

fn update(state: &mut GroupState, args: &[Vec<ScalarValue>], weight: i8) -> Result<(), String> {
    for (acc, a) in state.accumulators.iter_mut().zip(args) {
        if weight > 0 {
            acc.add(a)?;
        } else {
            acc.undo(a)?;
        }
    }
    Ok(())
}

/// One row's GROUP BY key: its encoded bytes, and where to read its values.
struct GroupKey<'a> {
    bytes: &'a [u8],
    columns: &'a [ArrayRef],
    row: usize,
}

impl GroupKey<'_> {
    /// The key's values, read only when a group is created.
    fn values(&self) -> Result<Vec<ScalarValue>, ExecError> {
        self.columns
            .iter()
            .map(|c| ScalarValue::try_from_array(c, self.row))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ExecError::internal)
    }
}

/// Encodes the GROUP BY columns of a batch into bytes per row: Arrow's row format, which is
/// built for exactly this (equal values, equal bytes), for every type it supports; each value's
/// debug text for the rest.
#[derive(Default)]
struct KeyEncoder {
    converter: Option<RowConverter>,
    /// The key types have no row format: keys are their values' text, and groups keep values.
    text: bool,
}

enum KeyRows {
    Rows(Rows),
    Text(Vec<Vec<u8>>),
    Empty,
}

impl KeyRows {
    fn row(&self, row: usize) -> &[u8] {
        match self {
            KeyRows::Rows(rows) => rows.row(row).data(),
            KeyRows::Text(texts) => texts.get(row).map_or(&[][..], Vec::as_slice),
            KeyRows::Empty => &[],
        }
    }
}

impl KeyEncoder {
    /// Whether groups must keep their key values: keys in the text encoding cannot be read
    /// back, while Arrow's row format decodes to the key columns.
    fn keeps_values(&self) -> bool {
        self.text
    }

    /// The key columns of the given encoded keys (row format), one row each.
    fn decode<'a>(&self, keys: impl Iterator<Item = &'a [u8]>) -> Result<Vec<ArrayRef>, ExecError> {
        let Some(converter) = &self.converter else {
            return Ok(Vec::new());
        };
        let parser = converter.parser();
        converter
            .convert_rows(keys.map(|k| parser.parse(k)))
            .map_err(ExecError::internal)
    }

    fn encode(&mut self, columns: &[ArrayRef]) -> Result<KeyRows, ExecError> {
        if columns.is_empty() {
            return Ok(KeyRows::Empty);
        }
        if self.converter.is_none() && !self.text {
            let fields = columns
                .iter()
                .map(|c| SortField::new(c.data_type().clone()))
                .collect();
            self.converter = RowConverter::new(fields).ok();
            self.text = self.converter.is_none();
        }
        if let Some(converter) = &self.converter {
            return converter
                .convert_columns(columns)
                .map(KeyRows::Rows)
                .map_err(ExecError::internal);
        }
        let rows = columns.first().map_or(0, |c| c.len());
        let mut texts = Vec::with_capacity(rows);
        for row in 0..rows {
            let mut text = Vec::new();
            for column in columns {
                let value =
                    ScalarValue::try_from_array(column, row).map_err(ExecError::internal)?;
                text.extend_from_slice(format!("{value:?}").as_bytes());
                text.push(0);
            }
            texts.push(text);
        }
        Ok(KeyRows::Text(texts))
    }
}

impl GroupState {
    /// Writes the group's state: its key values, timestamp, output flag and accumulators.
    fn save(&self, out: &mut Vec<u8>) {
        (&self.key, self.max_timestamp, self.emitted).encode(out);
        for accumulator in &self.accumulators {
            accumulator.save(out);
        }
    }

    /// Reads a group's state into a fresh copy of `template`, the query's initial state.
    fn load(template: &GroupState, input: &mut Input<'_>) -> codec::Result<GroupState> {
        let mut state = template.clone();
        (state.key, state.max_timestamp, state.emitted) = Decode::decode(input)?;
        for accumulator in &mut state.accumulators {
            accumulator.load(input)?;
        }
        Ok(state)
    }
}

/// Encodes groups' (and sessions') state. A group read back starts as the query's initial
/// state (its accumulators made by their factories), then loads what was written.
struct GroupCodec<'a>(Option<&'a GroupState>);

impl GroupCodec<'_> {
    fn template(&self) -> codec::Result<&GroupState> {
        self.0
            .ok_or_else(|| CodecError::Invalid("the aggregation has no initial state".into()))
    }
}

impl ValueCodec<GroupState> for GroupCodec<'_> {
    fn encode(&self, state: &GroupState, out: &mut Vec<u8>) {
        state.save(out);
    }

    fn decode(&self, input: &mut Input<'_>) -> codec::Result<GroupState> {
        GroupState::load(self.template()?, input)
    }
}

impl ValueCodec<Vec<Session>> for GroupCodec<'_> {
    fn encode(&self, sessions: &Vec<Session>, out: &mut Vec<u8>) {
        codec::encode_length(sessions.len(), out);
        for session in sessions {
            (session.start, session.end).encode(out);
            session.state.save(out);
        }
    }

    fn decode(&self, input: &mut Input<'_>) -> codec::Result<Vec<Session>> {
        let template = self.template()?;
        let count = input.length()?;
        let mut sessions = Vec::new();
        for _ in 0..count {
            let (start, end) = Decode::decode(input)?;
            let state = GroupState::load(template, input)?;
            sessions.push(Session { start, end, state });
        }
        Ok(sessions)
    }
}

/// Store ids of an aggregation's state (joins' ids are above them).
mod store_id {
    use crate::exec::state::StoreId;
    pub const GROUPS: StoreId = 1;
    pub const SESSIONS: StoreId = 2;
    pub const TABLE_ROWS: StoreId = 3;
    pub const EMITTED: StoreId = 4;
    pub const SUPPRESSED: StoreId = 5;
    pub const COLUMNAR: StoreId = 6;
}

impl Stateful for AggregateOperator {
    fn visit_stores(&mut self, f: &mut dyn FnMut(StoreId, &mut dyn StoreLog)) {
        if self.fresh_state.is_none() {
            self.fresh_state = self.new_state().ok();
        }
        let template = self.fresh_state.as_ref();
        f(
            store_id::GROUPS,
            &mut logged_with(&mut self.groups, GroupCodec(template)),
        );
        f(
            store_id::SESSIONS,
            &mut logged_with(&mut self.sessions, GroupCodec(template)),
        );
        f(store_id::TABLE_ROWS, &mut logged(&mut self.table_rows));
        f(store_id::EMITTED, &mut logged(&mut self.emitted));
        f(store_id::SUPPRESSED, &mut logged(&mut self.suppressed));
        if let Some(columnar) = &mut self.columnar {
            f(store_id::COLUMNAR, columnar);
        }
    }

    fn save_scalars(&self, out: &mut Vec<u8>) {
        (self.stream_time, self.suppressed_order).encode(out);
        (self.last_emit_close, self.next_expiry).encode(out);
    }

    fn load_scalars(&mut self, input: &mut Input<'_>) -> codec::Result<()> {
        (self.stream_time, self.suppressed_order) = Decode::decode(input)?;
        (self.last_emit_close, self.next_expiry) = Decode::decode(input)?;
        Ok(())
    }
}
