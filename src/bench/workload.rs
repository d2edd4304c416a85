//! The four benchmark queries over the bids stream.

use std::fmt;

use super::generator::{auctions_ddl, bids_ddl};

/// The topic every workload writes.
pub const OUTPUT_TOPIC: &str = "bench_out";

/// A persistent query to benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Stateless: filter about 1 bid in 123, project with DECIMAL arithmetic.
    Filter,
    /// GROUP BY auction: 10,000 groups, one output row per input row.
    Aggregate,
    /// 10-second tumbling windows GROUP BY channel: 10 groups per window.
    Window,
    /// Stream-table join of bids to the 10,000-row auctions table.
    Join,
}

impl Workload {
    pub const ALL: [Workload; 4] = [
        Workload::Filter,
        Workload::Aggregate,
        Workload::Window,
        Workload::Join,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Filter => "filter",
            Workload::Aggregate => "aggregate",
            Workload::Window => "window",
            Workload::Join => "join",
        }
    }

    /// Parses a workload name, or `all`.
    pub fn parse_selection(name: &str) -> Option<Vec<Workload>> {
        if name.eq_ignore_ascii_case("all") {
            return Some(Workload::ALL.to_vec());
        }
        Workload::ALL
            .into_iter()
            .find(|w| w.name().eq_ignore_ascii_case(name))
            .map(|w| vec![w])
    }

    /// The statements that declare the sources the query reads.
    pub fn ddl(self, partitions: usize) -> String {
        match self {
            Workload::Join => format!("{}\n{}", bids_ddl(partitions), auctions_ddl(partitions)),
            _ => bids_ddl(partitions),
        }
    }

    /// Whether the workload reads the auctions table.
    pub fn needs_auctions(self) -> bool {
        self == Workload::Join
    }

    /// The SELECT, exactly as the benchmark specifies it.
    pub fn select(self) -> &'static str {
        match self {
            Workload::Filter => {
                "SELECT auction, bidder, price * 0.908 AS euros, dateTime FROM bids \
                 WHERE auction % 123 = 0"
            }
            Workload::Aggregate => {
                "SELECT auction, COUNT(*), SUM(price), MAX(price) FROM bids GROUP BY auction"
            }
            Workload::Window => {
                "SELECT channel, COUNT(*), AVG(price) FROM bids \
                 WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY channel"
            }
            Workload::Join => {
                "SELECT b.auction, b.bidder, b.price, a.seller, a.category \
                 FROM bids b JOIN auctions a ON b.auction = a.id"
            }
        }
    }

    /// The persistent query: the SELECT written to [`OUTPUT_TOPIC`].
    pub fn statement(self) -> String {
        let kind = match self {
            Workload::Filter | Workload::Join => "STREAM",
            Workload::Aggregate | Workload::Window => "TABLE",
        };
        format!(
            "CREATE {kind} bench_out WITH (kafka_topic='{OUTPUT_TOPIC}') AS {} EMIT CHANGES;",
            self.select()
        )
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
