//! Single pipeline steps over one batch of bids, outside the engine's loop: what the criterion
//! micro-benchmarks time. Each step is the engine's own code path (`exec::decode`,
//! `exec::stateless`, `exec::aggregate`, and the `format::serialize` calls of `exec::sink`),
//! planned from the workloads' SQL.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::generator::{self, BIDS_TOPIC, Bid};
use super::workload::Workload;
use super::{BenchError, CACHE_PROPERTY};
use crate::catalog::Source;
use crate::engine::Engine;
use crate::exec::decode::{DecodedBatch, decode};
use crate::exec::sink::{Sink, SinkRows};
use crate::exec::{
    AggregateOperator, DecodeOptions, ProcessingLogEntry, QueryStats, Reporter, stateless,
};

use crate::plan::aggregate::AggregatePlan;
use crate::plan::expr::Scope;
use crate::plan::{QueryPlan, StatelessPlan, plan_query};
use crate::sql::{Location, Statement, parse_statement};
use crate::topics::{FetchLimits, MemoryTopicStore, ProducerRecord, Record, TopicStore};

/// The name the filter workload's sink gets.
const SINK_NAME: &str = "BENCH_OUT";

/// A batch of bid records as the engine reads them, and the plans of the filter and
/// aggregate workloads over them.
pub struct Pipeline {
    source: Source,
    scope: Scope,
    records: Vec<Record>,
    filter: StatelessPlan,
    aggregate: AggregatePlan,
    /// The filter workload's sink.
    sink: Sink,
    properties: BTreeMap<String, String>,
}

impl Pipeline {
    /// Bids `0..batch`, with values as ksqlDB writes them (upper-case field names).
    pub fn new(batch: usize) -> Result<Pipeline, BenchError> {
        Pipeline::with_values(batch, generator::bid_value)
    }

    /// Bids `0..batch` with Nexmark's camel-case field names.
    pub fn with_camel_case_values(batch: usize) -> Result<Pipeline, BenchError> {
        Pipeline::with_values(batch, generator::camel_case_bid_value)
    }

    fn with_values(batch: usize, value: fn(&Bid) -> Vec<u8>) -> Result<Pipeline, BenchError> {
        let store = Arc::new(MemoryTopicStore::new());
        let mut engine = Engine::new(store.clone());
        engine.set_property(CACHE_PROPERTY, "0");
        engine
            .execute_script(generator::BIDS_DDL)
            .map_err(BenchError::script)?;
        engine
            .execute_script(&Workload::Filter.statement())
            .map_err(BenchError::script)?;
        let produced = (0..batch as u64)
            .map(|i| {
                let bid = generator::bid(generator::DEFAULT_SEED, i);
                ProducerRecord {
                    value: Some(value(&bid)),
                    ..generator::bid_record(&bid)
                }
            })
            .collect();
        store.produce(BIDS_TOPIC, produced)?;
        let records = store
            .fetch(BIDS_TOPIC, 0, 0, FetchLimits::records(batch))?
            .records;

        let catalog = engine.catalog();
        let source = catalog
            .source("BIDS")
            .cloned()
            .ok_or_else(|| BenchError::Check("no BIDS stream".to_string()))?;
        let sink_source = catalog
            .source(SINK_NAME)
            .ok_or_else(|| BenchError::Check(format!("no {SINK_NAME} stream")))?;
        let sink = Sink {
            topic: sink_source.topic.clone(),
            key_columns: sink_source.key_columns(),
            value_columns: sink_source.value_columns(),
            key_format: sink_source.key_format.clone(),
            value_format: sink_source.value_format.clone(),
            value_wrapped: sink_source.value_wrapped(),
            timestamp_output: None,
            timestamp_format: None,
            window: None,
            partitions: None,
            exact_scale: Vec::new(),
            widened: Vec::new(),
        };
        let properties = engine.properties_snapshot();
        let filter = match plan(&engine, Workload::Filter, &properties)? {
            QueryPlan::Stateless(p) => p,
            _ => return Err(BenchError::Plan("filter is not stateless".to_string())),
        };
        let aggregate = match plan(&engine, Workload::Aggregate, &properties)? {
            QueryPlan::Aggregate(p) => p,
            _ => {
                return Err(BenchError::Plan(
                    "aggregate is not an aggregation".to_string(),
                ));
            }
        };
        Ok(Pipeline {
            // The scope the planner decodes into (the same for both plans).
            scope: filter.scope.clone(),
            source,
            records,
            filter,
            aggregate,
            sink,
            properties,
        })
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Record bytes to an Arrow batch: key (KAFKA) and value (JSON) decoding and the pseudo
    /// columns, through `exec::decode::decode`.
    pub fn decode(&self) -> Result<DecodedBatch, BenchError> {
        let mut errors = Vec::new();
        let decoded = decode(
            &self.source,
            &self.scope,
            &self.records,
            &DecodeOptions::default(),
            None,
            &mut errors,
        )?;
        if let Some(error) = errors.first() {
            return Err(BenchError::Check(format!(
                "a bid did not decode: {}",
                error.message
            )));
        }
        decoded.ok_or_else(|| BenchError::Check("empty batch".to_string()))
    }

    /// The filter workload's stage: WHERE, then the projection, into sink rows.
    pub fn filter_project(&self, decoded: DecodedBatch) -> Result<SinkRows, BenchError> {
        checked(|reporter| stateless::process(&self.filter, decoded, reporter))
    }

    /// A fresh operator for the aggregate workload (`GROUP BY auction`).
    pub fn aggregate_operator(&self) -> AggregateOperator {
        AggregateOperator::new(self.aggregate.clone(), self.properties.clone())
    }

    /// One step of the aggregate workload: the batch into `operator`'s groups.
    pub fn aggregate(
        &self,
        operator: &mut AggregateOperator,
        decoded: DecodedBatch,
    ) -> Result<SinkRows, BenchError> {
        checked(|reporter| operator.process(decoded, reporter))
    }

    /// The filter workload's sink: rows to KAFKA keys and JSON values, as the query's sink
    /// encodes them.
    pub fn encode(&self, rows: SinkRows) -> Result<Vec<ProducerRecord>, BenchError> {
        checked(|reporter| self.sink.encode(rows, reporter))
    }
}

/// Plans a workload's query against the engine's catalog.
fn plan(
    engine: &Engine,
    workload: Workload,
    properties: &BTreeMap<String, String>,
) -> Result<QueryPlan, BenchError> {
    let no_types = |_: &str| None;
    let statement = parse_statement(
        &workload.statement(),
        Location { line: 1, column: 1 },
        &no_types,
    )
    .map_err(|e| BenchError::Plan(e.to_string()))?;
    let Statement::CreateAsSelect(create) = statement else {
        return Err(BenchError::Plan(format!("{workload} is not a CREATE … AS")));
    };
    plan_query(&create.query, engine.catalog(), SINK_NAME, properties)
        .map_err(|e| BenchError::Plan(e.to_string()))
}

/// Runs a step with a reporter, and fails if it logged a bad record or expression.
fn checked<T>(
    step: impl FnOnce(&mut Reporter<'_>) -> Result<T, crate::exec::ExecError>,
) -> Result<T, BenchError> {
    let mut log: Vec<ProcessingLogEntry> = Vec::new();
    let mut stats = QueryStats::default();
    let mut reporter = Reporter {
        query_id: "BENCH",
        topic: BIDS_TOPIC,
        log: &mut log,
        stats: &mut stats,
    };
    let out = step(&mut reporter)?;
    match log.first() {
        Some(entry) => Err(BenchError::Check(entry.message.clone())),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_runs_over_a_batch() {
        let pipeline = Pipeline::new(1024).unwrap();
        let decoded = pipeline.decode().unwrap();
        assert_eq!(decoded.batch.num_rows(), 1024);
        let rows = pipeline.filter_project(decoded).unwrap();
        assert!(!rows.is_empty() && rows.len() < 30, "{}", rows.len());
        assert_eq!(pipeline.encode(rows.clone()).unwrap().len(), rows.len());
        let mut operator = pipeline.aggregate_operator();
        let out = pipeline
            .aggregate(&mut operator, pipeline.decode().unwrap())
            .unwrap();
        assert_eq!(out.len(), 1024);

        let camel = Pipeline::with_camel_case_values(16).unwrap();
        let a = camel.decode().unwrap().batch;
        let b = Pipeline::new(16).unwrap().decode().unwrap().batch;
        assert_eq!(a, b);
    }
}
