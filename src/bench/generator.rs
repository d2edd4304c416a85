//! Deterministic Nexmark-like input: a stream of bids and a table of auctions.
//!
//! Every event is a pure function of `(seed, index)`, so a run can generate any slice of the
//! stream without generating what comes before it, and the same seed gives byte-identical
//! records on every run and machine.
//!
//! Records are laid out as a ksqlDB user would have them in Kafka:
//!
//! - **Key**: the auction id as an 8-byte big-endian `KAFKA` BIGINT (what Kafka's
//!   `LongSerializer` writes). Bids are keyed by auction so the GROUP BY auction and the join on
//!   auction need no re-partitioning, as in a co-partitioned ksqlDB deployment.
//! - **Value**: a JSON object of the remaining columns. Field names are upper case, as ksqlDB
//!   writes them: the JSON reader matches those exactly; any other spelling makes it build an
//!   upper-cased copy of the field names for every record (see [`camel_case_bid_value`]).
//! - **Timestamp**: the bid's `dateTime`, so `ROWTIME` is event time. Bid `i` has
//!   `dateTime = BASE_TIME_MS + i`: time rises by exactly 1 ms per event, which also lets the
//!   latency probe map an output record back to the event that produced it.

use crate::topics::ProducerRecord;

/// Distinct auction ids: bids reference `0..AUCTIONS`, and the auctions table has one row each.
pub const AUCTIONS: i64 = 10_000;
/// Distinct bidder ids.
pub const BIDDERS: i64 = 100_000;
/// The bid's `dateTime` of event 0: 2023-11-14T22:13:20Z.
pub const BASE_TIME_MS: i64 = 1_700_000_000_000;
/// The seed `sluice bench` uses.
pub const DEFAULT_SEED: u64 = 0x5EED_B1D5;
/// The sales channels a bid comes from.
pub const CHANNELS: [&str; 10] = [
    "Google",
    "Facebook",
    "Baidu",
    "Apple",
    "Amazon",
    "Bing",
    "DuckDuckGo",
    "Yahoo",
    "Yandex",
    "Naver",
];
/// Length of a bid's `extra` field.
const EXTRA_LEN: usize = 20;
/// Smallest and largest (exclusive) bid price, in cents.
const PRICE_RANGE: (i64, i64) = (100, 1_000_000);

/// The bids stream, keyed by auction, on one partition.
pub const BIDS_DDL: &str = "CREATE STREAM bids (auction BIGINT KEY, bidder BIGINT, price BIGINT, \
    channel STRING, url STRING, dateTime BIGINT, extra STRING) \
    WITH (kafka_topic='bids', key_format='KAFKA', value_format='JSON', partitions=1);";

/// The bids stream over `partitions` partitions.
pub fn bids_ddl(partitions: usize) -> String {
    BIDS_DDL.replace("partitions=1", &format!("partitions={partitions}"))
}
/// The topic of the bids stream.
pub const BIDS_TOPIC: &str = "bids";

/// The auctions table, keyed by id.
pub const AUCTIONS_DDL: &str = "CREATE TABLE auctions (id BIGINT PRIMARY KEY, itemName STRING, \
    description STRING, initialBid BIGINT, reserve BIGINT, dateTime BIGINT, expires BIGINT, \
    seller BIGINT, category BIGINT) \
    WITH (kafka_topic='auctions', key_format='KAFKA', value_format='JSON', partitions=1);";
/// The auctions table over `partitions` partitions.
pub fn auctions_ddl(partitions: usize) -> String {
    AUCTIONS_DDL.replace("partitions=1", &format!("partitions={partitions}"))
}

/// The topic of the auctions table.
pub const AUCTIONS_TOPIC: &str = "auctions";

/// One bid, before encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bid {
    pub auction: i64,
    pub bidder: i64,
    pub price: i64,
    pub channel: &'static str,
    pub url: String,
    pub date_time: i64,
    pub extra: String,
}

/// One auction, before encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auction {
    pub id: i64,
    pub item_name: String,
    pub description: String,
    pub initial_bid: i64,
    pub reserve: i64,
    pub date_time: i64,
    pub expires: i64,
    pub seller: i64,
    pub category: i64,
}

/// SplitMix64: a tiny, well-mixed generator; good enough for synthetic data and free of
/// dependencies, so the stream never changes with a crate upgrade.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator for one event: the seed, a stream tag and the index are mixed so that
    /// neighbouring events and the two streams are independent.
    fn for_event(seed: u64, stream: u64, index: u64) -> SplitMix64 {
        let mut g = SplitMix64(seed ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        g.0 ^= g
            .next_u64()
            .wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        g
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `low..high` (`high > low`).
    fn range(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next_u64() % (high - low) as u64) as i64
    }

    fn letters(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| (b'a' + (self.next_u64() % 26) as u8) as char)
            .collect()
    }
}

const BID_STREAM: u64 = 1;
const AUCTION_STREAM: u64 = 2;

/// The `index`-th bid of the stream with this seed.
pub fn bid(seed: u64, index: u64) -> Bid {
    bid_with_keys(seed, index, AUCTIONS)
}

/// The `index`-th bid, its auction drawn from `0..keys` (`keys` > 0): how the benchmarks vary
/// the number of groups an aggregation keeps.
pub fn bid_with_keys(seed: u64, index: u64, keys: i64) -> Bid {
    let mut g = SplitMix64::for_event(seed, BID_STREAM, index);
    let auction = g.range(0, keys.max(1));
    let bidder = g.range(0, BIDDERS);
    let price = g.range(PRICE_RANGE.0, PRICE_RANGE.1);
    let channel_id = g.range(0, CHANNELS.len() as i64);
    let channel = CHANNELS[channel_id as usize];
    let url = format!(
        "https://www.nexmark.com/{}/item.htm?query=1&channel_id={channel_id}",
        g.letters(5)
    );
    Bid {
        auction,
        bidder,
        price,
        channel,
        url,
        date_time: BASE_TIME_MS + index as i64,
        extra: g.letters(EXTRA_LEN),
    }
}

/// The index of the bid whose `dateTime` (and so record timestamp) is `timestamp`.
pub fn bid_index_of_timestamp(timestamp: i64) -> Option<u64> {
    u64::try_from(timestamp - BASE_TIME_MS).ok()
}

/// The JSON value of a bid, with ksqlDB's upper-case field names.
pub fn bid_value(bid: &Bid) -> Vec<u8> {
    format!(
        r#"{{"BIDDER":{},"PRICE":{},"CHANNEL":"{}","URL":"{}","DATETIME":{},"EXTRA":"{}"}}"#,
        bid.bidder, bid.price, bid.channel, bid.url, bid.date_time, bid.extra
    )
    .into_bytes()
}

/// The JSON value of a bid with Nexmark's camel-case field names, which ksqlDB's reader also
/// accepts (it matches names case-insensitively), but through a slower path.
pub fn camel_case_bid_value(bid: &Bid) -> Vec<u8> {
    format!(
        r#"{{"bidder":{},"price":{},"channel":"{}","url":"{}","dateTime":{},"extra":"{}"}}"#,
        bid.bidder, bid.price, bid.channel, bid.url, bid.date_time, bid.extra
    )
    .into_bytes()
}

/// A bid as the record a producer would append.
pub fn bid_record(bid: &Bid) -> ProducerRecord {
    ProducerRecord {
        key: Some(bid.auction.to_be_bytes().to_vec()),
        value: Some(bid_value(bid)),
        timestamp: bid.date_time,
        ..Default::default()
    }
}

/// Records for the bids `start..end`.
pub fn bid_records(seed: u64, start: u64, end: u64) -> Vec<ProducerRecord> {
    bid_records_with_keys(seed, start, end, AUCTIONS)
}

/// Records for the bids `start..end`, their auctions drawn from `0..keys`.
pub fn bid_records_with_keys(seed: u64, start: u64, end: u64, keys: i64) -> Vec<ProducerRecord> {
    (start..end)
        .map(|i| bid_record(&bid_with_keys(seed, i, keys)))
        .collect()
}

/// The auction with this id (`0..AUCTIONS`).
pub fn auction(seed: u64, id: i64) -> Auction {
    let mut g = SplitMix64::for_event(seed, AUCTION_STREAM, id as u64);
    let initial_bid = g.range(PRICE_RANGE.0, PRICE_RANGE.1 / 10);
    let date_time = BASE_TIME_MS - g.range(0, 3_600_000);
    Auction {
        id,
        item_name: format!("item-{}", g.letters(8)),
        description: g.letters(32),
        initial_bid,
        reserve: initial_bid + g.range(0, PRICE_RANGE.1 / 10),
        date_time,
        expires: date_time + g.range(3_600_000, 24 * 3_600_000),
        seller: g.range(0, BIDDERS),
        category: g.range(0, 100),
    }
}

/// An auction as the record a producer would append: keyed by id.
pub fn auction_record(auction: &Auction) -> ProducerRecord {
    let value = format!(
        r#"{{"ITEMNAME":"{}","DESCRIPTION":"{}","INITIALBID":{},"RESERVE":{},"DATETIME":{},"EXPIRES":{},"SELLER":{},"CATEGORY":{}}}"#,
        auction.item_name,
        auction.description,
        auction.initial_bid,
        auction.reserve,
        auction.date_time,
        auction.expires,
        auction.seller,
        auction.category
    );
    ProducerRecord {
        key: Some(auction.id.to_be_bytes().to_vec()),
        value: Some(value.into_bytes()),
        // Auctions are open before the first bid.
        timestamp: auction.date_time,
        ..Default::default()
    }
}

/// The whole auctions table: one record per id, in id order.
pub fn auction_records(seed: u64) -> Vec<ProducerRecord> {
    (0..AUCTIONS)
        .map(|id| auction_record(&auction(seed, id)))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_records() {
        assert_eq!(
            bid_records(DEFAULT_SEED, 0, 100),
            bid_records(DEFAULT_SEED, 0, 100)
        );
        assert_eq!(bid_records(7, 50, 60), bid_records(7, 0, 60)[50..].to_vec());
        assert_ne!(bid(1, 0), bid(2, 0));
        assert_eq!(auction_records(3), auction_records(3));
    }

    #[test]
    fn bids_cover_the_documented_domains() {
        let bids: Vec<Bid> = (0..50_000).map(|i| bid(DEFAULT_SEED, i)).collect();
        let auctions: HashSet<i64> = bids.iter().map(|b| b.auction).collect();
        let channels: HashSet<&str> = bids.iter().map(|b| b.channel).collect();
        assert!(bids.iter().all(|b| (0..AUCTIONS).contains(&b.auction)));
        assert!(bids.iter().all(|b| (0..BIDDERS).contains(&b.bidder)));
        // 50,000 uniform draws from 10,000 ids miss about e^-5 of them.
        assert!(auctions.len() > 9_900, "{}", auctions.len());
        assert_eq!(channels.len(), CHANNELS.len());
        assert!(bids.iter().all(|b| b.extra.len() == EXTRA_LEN));
        assert!(
            bids.windows(2)
                .all(|w| w[1].date_time == w[0].date_time + 1)
        );
        assert_eq!(bid_index_of_timestamp(bids[42].date_time), Some(42));
    }

    #[test]
    fn records_are_kafka_keyed_json() {
        let b = bid(DEFAULT_SEED, 5);
        let record = bid_record(&b);
        assert_eq!(record.key, Some(b.auction.to_be_bytes().to_vec()));
        assert_eq!(record.timestamp, b.date_time);
        let value: serde_json::Value =
            serde_json::from_slice(record.value.as_deref().unwrap_or_default()).unwrap();
        assert_eq!(value["CHANNEL"], b.channel);
        assert_eq!(value["DATETIME"].to_string(), b.date_time.to_string());
        let camel: serde_json::Value = serde_json::from_slice(&camel_case_bid_value(&b)).unwrap();
        assert_eq!(camel["dateTime"].to_string(), b.date_time.to_string());
        let auctions = auction_records(DEFAULT_SEED);
        assert_eq!(auctions.len() as i64, AUCTIONS);
        let a: serde_json::Value =
            serde_json::from_slice(auctions[9].value.as_deref().unwrap_or_default()).unwrap();
        assert!(a["SELLER"].is_number());
    }
}
