//! Queries that answer a client rather than write a topic: push queries (`EMIT CHANGES`),
//! which keep streaming rows, and pull queries, which read the current state and end.

use std::collections::{BTreeMap, HashMap};

use datafusion::common::ScalarValue;
use tokio::sync::mpsc;

use super::{Engine, EngineError};
use crate::exec::{
    AggregateOperator, DecodeOptions, Input, JoinOperator, Output, PersistentQuery, PushEvent,
    Reporter, RowSink, Stage, decode, stateless,
};
use crate::plan::{PlanError, QueryPlan, plan_query_with};
use crate::sql::ast::{Emit, Query, SourceKind, Statement};
use crate::sql::{self, Location};
use crate::topics::Record;
use crate::types::{ColumnKind, SqlType};

/// How many rows a push query may buffer for a slow client before it pauses.
const PUSH_BUFFER: usize = 4096;

/// A column of a query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultColumn {
    pub name: String,
    pub ty: SqlType,
    pub key: bool,
}

/// A running push query, as its client sees it.
pub struct PushQuery {
    pub id: String,
    pub columns: Vec<ResultColumn>,
    pub events: mpsc::Receiver<PushEvent>,
}

/// The answer to a pull query.
#[derive(Debug, Clone, PartialEq)]
pub struct PullResult {
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<Vec<ScalarValue>>,
    /// Whether the query read a table (its header marks key columns).
    pub source_kind: SourceKind,
    /// Whether the rows stopped at the query's LIMIT.
    pub limit_reached: bool,
}

/// A SELECT, classified.
pub enum QueryKind {
    Push(Query),
    Pull(Query),
}

fn plan_error(e: PlanError, text: &str) -> EngineError {
    EngineError::Statement {
        message: e.to_string(),
        statement: text.to_string(),
    }
}

impl Engine {
    /// Parses a query statement (`SELECT …`) and tells push from pull.
    pub fn parse_query(
        &self,
        text: &str,
        variables: &BTreeMap<String, String>,
    ) -> Result<QueryKind, EngineError> {
        let pieces = sql::split_statements(text);
        let [piece] = pieces.as_slice() else {
            return Err(EngineError::statement(
                "Expected exactly one SELECT statement.",
            ));
        };
        let mut all = self.variables.clone();
        all.extend(variables.iter().map(|(k, v)| (k.to_lowercase(), v.clone())));
        let text = sql::substitute_variables(&piece.text, &all);
        let catalog = &self.catalog;
        let statement = sql::parse_statement(&text, Location { line: 1, column: 1 }, &|n| {
            catalog.custom_type(&n.to_uppercase()).cloned()
        })
        .map_err(|e| EngineError::Parse(e.to_string()))?;
        match statement {
            Statement::Query(q) if q.emit == Some(Emit::Changes) => Ok(QueryKind::Push(q)),
            Statement::Query(q) => Ok(QueryKind::Pull(q)),
            _ => Err(EngineError::statement(
                "The query endpoints only run SELECT statements; use /ksql for other statements.",
            )),
        }
    }

    fn effective_properties(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let mut properties = self.properties.clone();
        properties.extend(overrides.clone());
        properties
    }

    /// Starts a push query; its rows arrive on the returned channel as queries run.
    pub fn start_push_query(
        &mut self,
        query: &Query,
        text: &str,
        overrides: &BTreeMap<String, String>,
    ) -> Result<PushQuery, EngineError> {
        let properties = self.effective_properties(overrides);
        let plan = plan_query_with(query, &self.catalog, "transient", &properties, true)
            .map_err(|e| plan_error(e, text))?;
        let (outputs, columns) = result_columns(&plan);
        let (sender, events) = mpsc::channel(PUSH_BUFFER);
        let source_name = plan.source().name.clone();
        self.next_transient += 1;
        let id = format!("transient_{source_name}_{}", self.next_transient);
        let inputs = plan
            .inputs()
            .into_iter()
            .map(|(source, scope)| Input::new(source, scope))
            .collect();
        let stage = match plan {
            QueryPlan::Stateless(p) => Stage::Stateless(Box::new(p)),
            QueryPlan::Aggregate(p) => {
                Stage::Aggregate(Box::new(AggregateOperator::new(p, properties.clone())))
            }
            QueryPlan::Join(p) => Stage::Join(Box::new(JoinOperator::new(*p))),
        };
        let output = Output::Rows(RowSink {
            sender,
            order: outputs,
            limit: query.limit,
            sent: 0,
            finished: query.limit == Some(0),
        });
        let mut running =
            PersistentQuery::new(id.clone(), inputs, stage, output, DecodeOptions::default());
        let earliest = ["auto.offset.reset", "ksql.streams.auto.offset.reset"]
            .iter()
            .filter_map(|k| properties.get(*k))
            .any(|v| v.eq_ignore_ascii_case("earliest"));
        if !earliest {
            running.start_at_end(self.store.as_ref());
        }
        self.transient.push(running);
        Ok(PushQuery {
            id,
            columns,
            events,
        })
    }

    /// Stops a push query; false if there is none with that id.
    pub fn close_push_query(&mut self, id: &str) -> bool {
        let before = self.transient.len();
        self.transient.retain(|q| q.id != id);
        self.transient.len() != before
    }

    /// The ids of the push queries running now.
    pub fn push_query_ids(&self) -> Vec<String> {
        self.transient.iter().map(|q| q.id.clone()).collect()
    }

    /// Runs a pull query over the current contents of its source: for a table, the latest row
    /// of each key; for a stream, every record.
    pub fn pull_query(
        &mut self,
        query: &Query,
        text: &str,
        overrides: &BTreeMap<String, String>,
    ) -> Result<PullResult, EngineError> {
        let properties = self.effective_properties(overrides);
        let plan = plan_query_with(query, &self.catalog, "pull", &properties, true)
            .map_err(|e| plan_error(e, text))?;
        let QueryPlan::Stateless(plan) = plan else {
            return Err(EngineError::statement(
                "Pull queries don't support GROUP BY clauses or joins. Use a push query (EMIT CHANGES) or materialize the result with CREATE TABLE AS SELECT.",
            ));
        };
        if !query.partition_by.is_empty() {
            return Err(EngineError::statement(
                "Pull queries don't support PARTITION BY clauses.",
            ));
        }
        let source_kind = plan.source.kind;
        let records = self.read_current(&plan.source.topic, source_kind)?;
        let (outputs, columns) = result_columns(&QueryPlan::Stateless(plan.clone()));
        let mut log = Vec::new();
        let mut stats = Default::default();
        let mut reporter = Reporter {
            query_id: "pull",
            topic: &plan.source.topic,
            log: &mut log,
            stats: &mut stats,
        };
        let mut rows = Vec::new();
        for chunk in records.chunks(1024) {
            let mut errors = Vec::new();
            let decoded = decode::decode(
                &plan.source,
                &plan.scope,
                chunk,
                &DecodeOptions::default(),
                &mut errors,
            )
            .map_err(|e| EngineError::Runtime(e.to_string()))?;
            let Some(batch) = decoded else { continue };
            for row in stateless::process(&plan, batch, &mut reporter)
                .map_err(|e| EngineError::Runtime(e.to_string()))?
            {
                if row.tombstone {
                    continue;
                }
                rows.push(
                    outputs
                        .iter()
                        .map(|&i| row.values.get(i).cloned().unwrap_or(ScalarValue::Null))
                        .collect(),
                );
            }
        }
        let limit_reached = match query.limit {
            Some(l) if rows.len() as u64 >= l => {
                rows.truncate(l as usize);
                true
            }
            _ => false,
        };
        Ok(PullResult {
            columns,
            rows,
            source_kind,
            limit_reached,
        })
    }

    /// The records that make up a source now: all of a stream's; the last of each key of a
    /// table, without deleted keys.
    fn read_current(&self, topic: &str, kind: SourceKind) -> Result<Vec<Record>, EngineError> {
        let mut all = Vec::new();
        let mut position = 0;
        loop {
            let (records, next) = self
                .store
                .read_in_arrival_order(topic, position, 4096)
                .map_err(|e| EngineError::Generic(e.to_string()))?;
            if records.is_empty() {
                break;
            }
            all.extend(records);
            position = next;
        }
        if kind == SourceKind::Stream {
            return Ok(all);
        }
        let mut latest: HashMap<Option<Vec<u8>>, usize> = HashMap::new();
        let mut order: Vec<Option<Record>> = Vec::new();
        for record in all {
            if let Some(&i) = latest.get(&record.key) {
                order[i] = None;
            }
            latest.insert(record.key.clone(), order.len());
            order.push(Some(record));
        }
        Ok(order
            .into_iter()
            .flatten()
            .filter(|r| r.value.is_some())
            .collect())
    }

    /// Removes push queries whose client left or whose limit was reached.
    pub(super) fn reap_transient(&mut self) {
        self.transient.retain(|q| !q.is_finished());
    }
}

/// The result's columns in SELECT order, and for each the index of its output.
fn result_columns(plan: &QueryPlan) -> (Vec<usize>, Vec<ResultColumn>) {
    let outputs = match plan {
        QueryPlan::Stateless(p) => &p.outputs,
        QueryPlan::Aggregate(p) => &p.outputs,
        QueryPlan::Join(p) => &p.outputs,
    };
    let mut indexed: Vec<(usize, usize)> = outputs
        .iter()
        .enumerate()
        .map(|(i, o)| (o.position, i))
        .collect();
    indexed.sort();
    let order: Vec<usize> = indexed.iter().map(|(_, i)| *i).collect();
    let columns = order
        .iter()
        .map(|&i| ResultColumn {
            name: outputs[i].name.clone(),
            ty: outputs[i].expr.sql_type(),
            key: outputs[i].kind == ColumnKind::Key,
        })
        .collect();
    (order, columns)
}
