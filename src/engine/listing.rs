//! SHOW, LIST, DESCRIBE and EXPLAIN: what the catalog, the runtime and the function library
//! hold, as typed listings. The server renders them as ksqlDB's REST entities.

use super::{Engine, EngineError, Outcome};
use crate::catalog::{QueryInfo, Source};
use crate::functions::registry::{Argument, arguments_of};
use crate::sql::ast::{ExplainTarget, ShowKind, SourceKind};
use crate::types::SqlType;

/// The property naming the topics SHOW TOPICS hides, and ksqlDB's default for it.
const HIDDEN_TOPICS: &str = "ksql.hidden.topics";
const DEFAULT_HIDDEN_TOPICS: &str = "_confluent.*,__confluent.*,_schemas,__consumer_offsets,\
     __transaction_state,connect-configs,connect-offsets,connect-status,connect-statuses";

/// What a SHOW, LIST, DESCRIBE or EXPLAIN statement found.
#[derive(Debug, Clone, PartialEq)]
pub enum Listing {
    /// SHOW STREAMS or SHOW TABLES: the sources of one kind, in brief.
    Sources {
        kind: SourceKind,
        sources: Vec<SourceDescription>,
    },
    /// SHOW … EXTENDED and DESCRIBE STREAMS / TABLES: the sources of one kind, described.
    SourceDescriptions(Vec<SourceDescription>),
    /// DESCRIBE name [EXTENDED].
    Source(Box<SourceDescription>),
    /// SHOW TOPICS; `extended` adds each topic's consumers.
    Topics {
        extended: bool,
        topics: Vec<TopicSummary>,
    },
    Queries(Vec<QueryDescription>),
    /// EXPLAIN query_id.
    Query(QueryDescription),
    Properties(Vec<(String, String)>),
    Types(Vec<(String, SqlType)>),
    Functions(Vec<FunctionSummary>),
    /// DESCRIBE FUNCTION.
    Function(FunctionDescription),
    Variables(Vec<(String, String)>),
}

/// A stream or table with the queries that read and write it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDescription {
    pub source: Source,
    /// DESCRIBE … EXTENDED.
    pub extended: bool,
    /// The partitions of its topic (0 when the topic is gone).
    pub partitions: u32,
    pub replicas: i16,
    pub read_queries: Vec<QueryDescription>,
    pub write_queries: Vec<QueryDescription>,
    /// DESCRIBE … EXTENDED: how far each query that writes the source has read its inputs.
    pub offsets: Vec<GroupProgress>,
}

/// A consumer group's position in each topic it reads: what lag is measured from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupProgress {
    pub group: String,
    pub topics: Vec<TopicProgress>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicProgress {
    pub topic: String,
    pub partitions: Vec<PartitionProgress>,
}

/// One partition: the log's first and next offsets, and the group's committed offset (0 when
/// it has committed none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionProgress {
    pub partition: u32,
    pub log_start: u64,
    pub log_end: u64,
    pub committed: u64,
}

impl PartitionProgress {
    /// How many records the group has still to read.
    pub fn lag(&self) -> u64 {
        self.log_end.saturating_sub(self.committed)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSummary {
    pub name: String,
    pub partitions: u32,
    pub replicas: i16,
    /// The persistent queries' consumer groups that read this topic.
    pub consumer_groups: usize,
    /// Their consumers: one per partition a group reads (a task's share), as counted here.
    pub consumers: usize,
}

/// A persistent query, its sink's topic and its state.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryDescription {
    pub query: QueryInfo,
    pub sink_topic: Option<String>,
    pub status: QueryStatus,
}

/// A persistent query's state as ksqlDB names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryStatus {
    Running,
    /// A task failed and the query stopped: the error that stopped it.
    Error(String),
}

impl QueryStatus {
    /// RUNNING or ERROR.
    pub fn name(&self) -> &'static str {
        match self {
            QueryStatus::Running => "RUNNING",
            QueryStatus::Error(_) => "ERROR",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    Scalar,
    Aggregate,
    Table,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSummary {
    pub name: String,
    pub kind: FunctionKind,
    /// The group SHOW FUNCTIONS lists it under.
    pub category: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDescription {
    pub name: String,
    pub description: String,
    pub kind: FunctionKind,
    pub overloads: Vec<FunctionOverload>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionOverload {
    pub arguments: Vec<Argument>,
    /// The return type; `T` when it follows the arguments.
    pub returns: String,
    pub description: String,
}

impl Engine {
    fn source_description(&self, s: &Source, extended: bool) -> SourceDescription {
        let queries = |write: bool| -> Vec<QueryDescription> {
            self.catalog
                .queries()
                .filter(|q| {
                    if write {
                        q.sink.as_deref() == Some(s.name.as_str())
                    } else {
                        q.sources.iter().any(|x| x == &s.name)
                    }
                })
                .map(|q| self.query_description(q))
                .collect()
        };
        let (partitions, replicas) = self
            .store
            .describe_topic(&s.topic)
            .map(|t| (t.config.partitions, t.config.replicas))
            .unwrap_or((0, 1));
        let write_queries = queries(true);
        let offsets = if extended {
            write_queries
                .iter()
                .map(|q| self.group_progress(&q.query.id))
                .collect()
        } else {
            Vec::new()
        };
        SourceDescription {
            source: s.clone(),
            extended,
            partitions,
            replicas,
            read_queries: queries(false),
            write_queries,
            offsets,
        }
    }

    /// How far a persistent query's consumer group has read each topic it committed
    /// offsets for, as ksqlDB's DESCRIBE EXTENDED reports it.
    fn group_progress(&self, query_id: &str) -> GroupProgress {
        let group = self.consumer_group(query_id);
        let committed = self.store.group_offsets().unwrap_or_default();
        let topics = committed
            .iter()
            .filter(|((g, _), _)| *g == group)
            .filter_map(|((_, topic), offsets)| {
                let described = self.store.describe_topic(topic).ok()?;
                let partitions = (0..described.config.partitions)
                    .map(|partition| {
                        let at = partition as usize;
                        PartitionProgress {
                            partition,
                            log_start: described.start_offsets.get(at).copied().unwrap_or(0),
                            log_end: described.end_offsets.get(at).copied().unwrap_or(0),
                            committed: offsets.get(&partition).copied().unwrap_or(0),
                        }
                    })
                    .collect();
                Some(TopicProgress {
                    topic: topic.clone(),
                    partitions,
                })
            })
            .collect();
        GroupProgress { group, topics }
    }

    /// Whether SHOW TOPICS leaves a topic out: its name matches one of `ksql.hidden.topics`
    /// (comma-separated names or Java regular expressions, matched whole), by default the
    /// internal topics of Kafka, Confluent and ksqlDB (its command topic and changelogs).
    fn is_hidden_topic(&self, name: &str) -> bool {
        let patterns = self
            .property(HIDDEN_TOPICS)
            .unwrap_or(DEFAULT_HIDDEN_TOPICS);
        patterns
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .any(|pattern| {
                pattern == name
                    || regex::Regex::new(&format!("^(?:{pattern})$"))
                        .is_ok_and(|r| r.is_match(name))
            })
    }

    fn query_description(&self, q: &QueryInfo) -> QueryDescription {
        let sink_topic = q
            .sink
            .as_ref()
            .and_then(|s| self.catalog.source(s))
            .map(|s| s.topic.clone());
        let status = match self.runtime.find(&q.id).map(|r| r.state()) {
            Some(crate::exec::QueryState::Error(message)) => QueryStatus::Error(message),
            _ => QueryStatus::Running,
        };
        QueryDescription {
            query: q.clone(),
            sink_topic,
            status,
        }
    }

    pub(super) fn show(&self, kind: &ShowKind, extended: bool) -> Result<Listing, EngineError> {
        Ok(match kind {
            ShowKind::Streams | ShowKind::Tables => {
                let want = if *kind == ShowKind::Streams {
                    SourceKind::Stream
                } else {
                    SourceKind::Table
                };
                let sources: Vec<SourceDescription> = self
                    .catalog
                    .sources()
                    .filter(|s| s.kind == want)
                    .map(|s| self.source_description(s, extended))
                    .collect();
                if extended {
                    Listing::SourceDescriptions(sources)
                } else {
                    Listing::Sources {
                        kind: want,
                        sources,
                    }
                }
            }
            ShowKind::Topics { all } => {
                // The consumers here are the persistent queries' groups.
                let queries: Vec<String> = self
                    .catalog
                    .queries()
                    .map(|q| self.consumer_group(&q.id))
                    .collect();
                let mut groups = self.store.group_offsets()?;
                groups.retain(|(group, _), _| queries.contains(group));
                let topics = self
                    .store
                    .list_topics()?
                    .into_iter()
                    .filter(|t| *all || !self.is_hidden_topic(&t.name))
                    .map(|t| {
                        let reading: Vec<usize> = groups
                            .iter()
                            .filter(|((_, topic), _)| *topic == t.name)
                            .map(|(_, partitions)| partitions.len())
                            .collect();
                        TopicSummary {
                            consumer_groups: reading.len(),
                            consumers: reading.iter().sum(),
                            name: t.name,
                            partitions: t.config.partitions,
                            replicas: t.config.replicas,
                        }
                    })
                    .collect();
                Listing::Topics { extended, topics }
            }
            ShowKind::Queries => Listing::Queries(
                self.catalog
                    .queries()
                    .map(|q| self.query_description(q))
                    .collect(),
            ),
            ShowKind::Properties => Listing::Properties(
                self.properties
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            ShowKind::Types => Listing::Types(
                self.catalog
                    .custom_types()
                    .map(|(name, ty)| (name.clone(), ty.clone()))
                    .collect(),
            ),
            ShowKind::Functions => Listing::Functions(functions()),
            ShowKind::Variables => Listing::Variables(
                self.variables
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
        })
    }

    pub(super) fn describe_source(
        &self,
        name: &str,
        extended: bool,
    ) -> Result<Outcome, EngineError> {
        let Some(s) = self.catalog.source(name) else {
            return Err(EngineError::statement(format!(
                "Could not find STREAM/TABLE '{name}' in the Metastore"
            )));
        };
        Ok(Outcome::Listing(Listing::Source(Box::new(
            self.source_description(s, extended),
        ))))
    }

    /// DESCRIBE FUNCTION: a function's overloads.
    pub(super) fn describe_function(&self, name: &str) -> Result<Outcome, EngineError> {
        let described = |kind, name: &str, description: &str, overloads| {
            Ok(Outcome::Listing(Listing::Function(FunctionDescription {
                name: name.to_string(),
                description: description.to_string(),
                kind,
                overloads,
            })))
        };
        let overload = |arguments, returns: Option<&SqlType>, description: &str| FunctionOverload {
            arguments,
            returns: returns.map_or_else(|| "T".to_string(), ToString::to_string),
            description: description.to_string(),
        };
        if let Some(f) = crate::functions::FunctionRegistry::global().scalar(name) {
            let overloads = f
                .overloads
                .iter()
                .map(|o| overload(o.params.arguments(), o.returns.as_ref(), f.description))
                .collect();
            return described(FunctionKind::Scalar, f.name, f.description, overloads);
        }
        if let Some(f) = crate::functions::aggregate::lookup(name) {
            let overloads = f
                .overloads
                .iter()
                .map(|o| overload(o.params.arguments(), o.returns.as_ref(), f.description))
                .collect();
            return described(FunctionKind::Aggregate, f.name, f.description, overloads);
        }
        if let Some(f) = crate::functions::table::lookup(name) {
            let overloads = f
                .overloads
                .iter()
                .map(|o| overload(arguments_of(o.display), None, f.description))
                .collect();
            return described(FunctionKind::Table, f.name, f.description, overloads);
        }
        Err(EngineError::statement(format!(
            "Can't find any functions with the name '{name}'"
        )))
    }

    pub(super) fn describe_all(&self, kind: SourceKind, extended: bool) -> Listing {
        Listing::SourceDescriptions(
            self.catalog
                .sources()
                .filter(|s| s.kind == kind)
                .map(|s| self.source_description(s, extended))
                .collect(),
        )
    }

    pub(super) fn explain(&self, target: ExplainTarget) -> Result<Outcome, EngineError> {
        match target {
            ExplainTarget::QueryId(id) => {
                let Some(q) = self
                    .catalog
                    .queries()
                    .find(|q| q.id.eq_ignore_ascii_case(&id))
                else {
                    return Err(EngineError::statement(format!(
                        "Query with id:{id} does not exist, use SHOW QUERIES to view the full set of running queries."
                    )));
                };
                Ok(Outcome::Listing(Listing::Query(self.query_description(q))))
            }
            ExplainTarget::Statement(_) => Err(EngineError::statement(
                "EXPLAIN of a statement is not supported yet; EXPLAIN a running query by its id.",
            )),
        }
    }
}

/// Every function, by name.
fn functions() -> Vec<FunctionSummary> {
    let summary = |name: &str, kind, category: &str| FunctionSummary {
        name: name.to_string(),
        kind,
        category: category.to_string(),
    };
    let mut functions: Vec<FunctionSummary> = crate::functions::FunctionRegistry::global()
        .scalars()
        .into_iter()
        .map(|f| summary(f.name, FunctionKind::Scalar, f.category))
        .chain(
            crate::functions::aggregate::all()
                .iter()
                .map(|f| summary(f.name, FunctionKind::Aggregate, "AGGREGATE")),
        )
        .chain(
            crate::functions::table::all()
                .iter()
                .map(|f| summary(f.name, FunctionKind::Table, "TABLE")),
        )
        .collect();
    functions.sort_by(|a, b| a.name.cmp(&b.name));
    functions
}
