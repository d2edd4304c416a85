//! Micro-benchmarks of the pipeline steps a persistent query runs per batch, on 1,024 bids
//! (the engine's batch size): decode (KAFKA key + JSON value → Arrow), the filter workload's
//! filter+project, the aggregate workload's step, and the sink's encode.
//!
//! Run with `cargo bench --bench pipeline`. `cargo test --all-targets` runs each once.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sluice::bench::fixture::Pipeline;
use sluice::exec::sink::SinkRows;

/// Records per batch: the engine's `BATCH_SIZE`.
const BATCH: usize = 1024;

fn pipeline(c: &mut Criterion) {
    let pipeline = Pipeline::new(BATCH).expect("the bids pipeline plans");
    let camel = Pipeline::with_camel_case_values(BATCH).expect("the bids pipeline plans");
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);

    group.bench_function("decode_json_bids", |b| {
        b.iter(|| pipeline.decode().expect("bids decode"))
    });
    group.bench_function("decode_json_bids_camel_case", |b| {
        b.iter(|| camel.decode().expect("bids decode"))
    });
    group.bench_function("filter_project", |b| {
        b.iter_batched(
            || pipeline.decode().expect("bids decode"),
            |decoded| pipeline.filter_project(decoded).expect("filter runs"),
            BatchSize::SmallInput,
        )
    });
    // A warm operator: after the first batches every auction has its group, as in a long run.
    let mut operator = pipeline.aggregate_operator();
    for _ in 0..3 {
        pipeline
            .aggregate(&mut operator, pipeline.decode().expect("bids decode"))
            .expect("aggregate runs");
    }
    group.bench_function("aggregate_step", |b| {
        b.iter_batched(
            || pipeline.decode().expect("bids decode"),
            |decoded| {
                pipeline
                    .aggregate(&mut operator, decoded)
                    .expect("aggregate runs")
            },
            BatchSize::SmallInput,
        )
    });
    // Encode a full batch of filter output: the rows that pass, repeated to 1,024.
    let passed = pipeline
        .filter_project(pipeline.decode().expect("bids decode"))
        .expect("filter runs");
    let all_rows = match passed {
        SinkRows::Columns { columns, rows } => SinkRows::Columns {
            columns,
            rows: rows.iter().cycle().take(BATCH).cloned().collect(),
        },
        SinkRows::Rows(rows) => SinkRows::Rows(rows.iter().cycle().take(BATCH).cloned().collect()),
    };
    group.bench_function("sink_encode", |b| {
        b.iter_batched(
            || all_rows.clone(),
            |rows| pipeline.encode(rows).expect("encode runs"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
