//! Sluice: a streaming SQL database server that speaks ksqlDB's dialect.
//!
//! ```text
//!  text ──► sql ──► catalog ──► plan ──► exec ──► topics
//!                     ▲                    │
//!  server / test runner ───────────────────┘
//! ```
//!
//! 1. [`sql`] turns text into statements, with line and column for every error.
//! 2. [`types`] are ksqlDB's SQL types and their Arrow representation.
//! 3. [`format`] turns record bytes into typed values and back (KAFKA, JSON, DELIMITED, NONE,
//!    AVRO, JSON_SR, PROTOBUF, PROTOBUF_NOSR).
//! 4. [`topics`] is the log: the [`topics::TopicStore`] trait and the embedded store, and
//!    [`registry`] the schemas of the schema-registry formats (AVRO, JSON_SR, PROTOBUF).
//! 5. [`catalog`] holds streams, tables, types and queries.
//! 6. [`plan`] resolves a query against the catalog and compiles its expressions to DataFusion.
//! 7. [`exec`] runs persistent queries over Arrow record batches.
//! 8. [`engine`] executes one statement: the single entry point every front end calls.
//! 9. [`testing`] runs ksqlDB's functional test cases through the engine.
//! 10. [`bench`] drives Nexmark-like workloads through the engine for `sluice bench`.
//! 11. [`client`] is the command line's client of a running server (`sluice topics produce`).

pub mod api;
pub mod bench;
pub mod catalog;
pub mod client;
pub mod engine;
pub mod exec;
pub mod format;
pub mod functions;
pub mod offline;
pub mod plan;
pub mod registry;
pub mod server;
pub mod shell;
pub mod sql;
pub mod testing;
pub mod topics;
pub mod types;
