//! The responsiveness benchmark (`sluice bench --serve`): does the API stay quick while the
//! server is busy?
//!
//! A server runs in this process on a free port, with the server's defaults (caching on, a
//! stream thread per core) and four persistent queries over the bids (the filter, the
//! aggregate, the window and the join of the suite). A producer thread loads `events` bids
//! through `POST /topics/bids/records` in 4 MB requests, as `sluice topics produce` does, while
//! the queries run flat out; meanwhile a prober thread times `GET /info` and a pull query by
//! key on the aggregate's table every few milliseconds, over HTTP, until the queries have
//! consumed every bid.

use std::io::BufRead;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::BenchError;
use super::generator::{self, AUCTIONS, AUCTIONS_TOPIC, BIDS_TOPIC, DEFAULT_SEED};
use super::run::{peak_rss_kib, percentile};
use crate::engine::Engine;
use crate::topics::{MemoryTopicStore, TopicStore};

/// What to measure.
#[derive(Debug, Clone, Copy)]
pub struct ServeConfig {
    pub events: u64,
    /// How long the prober waits between probes.
    pub probe_every: Duration,
}

/// Latency percentiles of one kind of request, in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latencies {
    pub samples: usize,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl Latencies {
    fn of(mut samples: Vec<u64>) -> Latencies {
        samples.sort_unstable();
        Latencies {
            samples: samples.len(),
            p50_us: percentile(&samples, 0.50),
            p99_us: percentile(&samples, 0.99),
            max_us: samples.last().copied().unwrap_or(0),
        }
    }
}

/// What was measured.
#[derive(Debug, Clone, Serialize)]
pub struct ServeReport {
    pub events: u64,
    pub threads: usize,
    /// Seconds from the first produce until every query had read every bid.
    pub busy_secs: f64,
    pub info: Latencies,
    pub pull: Latencies,
    pub peak_rss_mb: u64,
    pub profile: &'static str,
}

/// The four persistent queries, each with `auto.offset.reset` at earliest.
const QUERIES: &str = "\
    CREATE STREAM cheap AS SELECT auction, bidder, price * 0.908 AS euros, dateTime FROM bids WHERE auction % 123 = 0;\n\
    CREATE TABLE totals AS SELECT auction, COUNT(*) AS n, SUM(price) AS total, MAX(price) AS top FROM bids GROUP BY auction;\n\
    CREATE TABLE per_channel AS SELECT channel, COUNT(*) AS n, AVG(price) AS mean FROM bids WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY channel;\n\
    CREATE STREAM enriched AS SELECT b.auction, b.bidder, b.price, a.seller, a.category FROM bids b JOIN auctions a ON b.auction = a.id;";

/// Runs the server, the producer and the prober; reports the prober's latencies.
pub fn run_serve(config: &ServeConfig) -> Result<ServeReport, BenchError> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine.set_property(super::CACHE_PROPERTY, super::CACHE_ON_BYTES);
    engine.set_property("ksql.streams.num.stream.threads", &threads.to_string());
    engine.set_property("auto.offset.reset", "earliest");
    let ddl = format!(
        "{}\n{}",
        generator::bids_ddl(threads),
        generator::auctions_ddl(threads)
    );
    engine
        .execute_script(&ddl)
        .map_err(|(_, e)| BenchError::Engine(e))?;
    store.produce(AUCTIONS_TOPIC, generator::auction_records(DEFAULT_SEED))?;
    engine
        .execute_script(QUERIES)
        .map_err(|(_, e)| BenchError::Engine(e))?;
    let runtime = Arc::clone(engine.runtime());
    runtime
        .start_workers(threads)
        .map_err(|e| BenchError::Check(format!("cannot start the stream threads: {e}")))?;
    let state = crate::server::state(engine, false);

    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| BenchError::Check(format!("cannot start the HTTP runtime: {e}")))?;
    let listener = tokio
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| BenchError::Check(format!("cannot listen: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| BenchError::Check(format!("cannot listen: {e}")))?;
    tokio.spawn(async move {
        let _ = axum::serve(listener, crate::server::router(state)).await;
    });
    let url = format!("http://{addr}");

    let done = Arc::new(AtomicBool::new(false));
    let prober = {
        let (url, done, every) = (url.clone(), Arc::clone(&done), config.probe_every);
        std::thread::spawn(move || probe(&url, &done, every))
    };
    let start = Instant::now();
    let options = crate::client::ProduceOptions {
        key: Some("AUCTION".to_string()),
        key_format: Some("bigint".to_string()),
        ..Default::default()
    };
    let lines = BidLines::new(0, config.events);
    let produced = crate::client::KsqlClient::new(&url)
        .produce(BIDS_TOPIC, &options, lines, |_| {})
        .map_err(|e| BenchError::Check(format!("producing failed: {e}")))?;
    if produced != config.events {
        return Err(BenchError::Check(format!(
            "produced {produced} bids, not {}",
            config.events
        )));
    }
    // Busy until every query has read every bid.
    loop {
        let consumed = runtime
            .queries()
            .iter()
            .filter(|q| !q.is_push())
            .all(|q| q.stats().records_in >= config.events);
        if consumed {
            break;
        }
        if start.elapsed() > Duration::from_secs(3600) {
            return Err(BenchError::Check(
                "the queries did not catch up".to_string(),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let busy_secs = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let (info, pull) = prober
        .join()
        .map_err(|_| BenchError::Check("the prober panicked".to_string()))??;
    Ok(ServeReport {
        events: config.events,
        threads,
        busy_secs,
        info: Latencies::of(info),
        pull: Latencies::of(pull),
        peak_rss_mb: peak_rss_kib().unwrap_or(0) / 1024,
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    })
}

/// Times `GET /info` and a pull query by key, one after the other, until `done`.
fn probe(
    url: &str,
    done: &AtomicBool,
    every: Duration,
) -> Result<(Vec<u64>, Vec<u64>), BenchError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let (mut info, mut pull) = (Vec::new(), Vec::new());
    let elapsed_us = |since: Instant| u64::try_from(since.elapsed().as_micros()).unwrap_or(0);
    let mut auction = 0i64;
    while !done.load(Ordering::Relaxed) {
        let start = Instant::now();
        let response = agent
            .get(format!("{url}/info"))
            .call()
            .map_err(|e| BenchError::Check(format!("GET /info failed: {e}")))?;
        let _ = response.into_body().read_to_vec();
        info.push(elapsed_us(start));

        auction = (auction + 7) % AUCTIONS;
        let body = format!(
            r#"{{"sql": "SELECT * FROM totals WHERE auction = {auction};", "properties": {{}}}}"#
        );
        let start = Instant::now();
        let response = agent
            .post(format!("{url}/query-stream"))
            .content_type("application/vnd.ksqlapi.delimited.v1")
            .send(body.as_bytes())
            .map_err(|e| BenchError::Check(format!("the pull query failed: {e}")))?;
        let status = response.status().as_u16();
        let answer = response.into_body().read_to_vec().unwrap_or_default();
        if status != 200 {
            return Err(BenchError::Check(format!(
                "the pull query answered {status}: {}",
                String::from_utf8_lossy(&answer)
            )));
        }
        pull.push(elapsed_us(start));
        std::thread::sleep(every);
    }
    Ok((info, pull))
}

/// The bids `next..end` as JSON lines with their AUCTION field, read as a file would be.
struct BidLines {
    next: u64,
    end: u64,
    line: Vec<u8>,
    read: usize,
}

impl BidLines {
    fn new(start: u64, end: u64) -> BidLines {
        BidLines {
            next: start,
            end,
            line: Vec::new(),
            read: 0,
        }
    }
}

impl std::io::Read for BidLines {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for BidLines {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.read == self.line.len() && self.next < self.end {
            let bid = generator::bid(DEFAULT_SEED, self.next);
            self.next += 1;
            let value = generator::bid_value(&bid);
            self.line.clear();
            self.line
                .extend_from_slice(format!("{{\"AUCTION\":{},", bid.auction).as_bytes());
            self.line
                .extend_from_slice(value.get(1..).unwrap_or_default());
            self.line.push(b'\n');
            self.read = 0;
        }
        Ok(self.line.get(self.read..).unwrap_or_default())
    }

    fn consume(&mut self, amount: usize) {
        self.read = (self.read + amount).min(self.line.len());
    }
}
