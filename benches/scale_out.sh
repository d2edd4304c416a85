#!/usr/bin/env bash
# Throughput of the aggregate workload on Kafka, on one server or several sharing the work.
#
#   benches/scale_out.sh BIDS KEYS SERVERS [SLUICE]
#
# Needs a Kafka-protocol broker (BROKER, default 127.0.0.1:9092) and a Python with the
# confluent-kafka package (PYTHON, default python3). Produces BIDS bids over KEYS auctions
# (the benchmark's bid shape: a BIGINT key, a JSON value) to a new 4-partition topic with an
# ordinary Kafka producer, starts SERVERS servers of one new service, runs
# `CREATE TABLE … SELECT auction, COUNT(*), SUM(price), MAX(price) FROM bids GROUP BY auction`
# from the earliest offset, and prints the seconds until a pull query on the first server
# counts every bid, and the bids per second that makes.
set -euo pipefail
BIDS=${1:?bids}
KEYS=${2:?keys}
SERVERS=${3:?servers}
SLUICE=${4:-target/release/sluice}
BROKER=${BROKER:-127.0.0.1:9092}
PYTHON=${PYTHON:-python3}
PORT=${PORT:-18090}
RUN="scale$(date +%s%N)"
DATA=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$DATA"' EXIT

"$PYTHON" - "$BROKER" "$RUN" "$BIDS" "$KEYS" <<'PY'
import json, struct, sys, time
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
broker, run, bids, keys = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
admin = AdminClient({"bootstrap.servers": broker})
admin.create_topics(
    [NewTopic(run + "_bids", num_partitions=4, replication_factor=1)])[run + "_bids"].result(30)
p = Producer({"bootstrap.servers": broker, "partitioner": "murmur2_random", "linger.ms": 20,
              "enable.idempotence": True, "queue.buffering.max.messages": 1000000})
start = time.time()
for i in range(bids):
    value = '{"BIDDER":%d,"PRICE":%d,"CHANNEL":"Google","URL":"https://example.com/%d","DATETIME":%d,"EXTRA":"xxxxxxxxxxxxxxxxxxxx"}' % (
        i % 1000, 100 + (i * 7919) % 999900, i % 97, 1700000000000 + i)
    while True:
        try:
            p.produce(run + "_bids", key=struct.pack(">q", i % keys), value=value, timestamp=1700000000000 + i)
            break
        except BufferError:
            p.poll(0.05)
    if i % 10000 == 0:
        p.poll(0)
assert p.flush(120) == 0
print(f"loaded {bids} bids in {time.time() - start:.1f} s", file=sys.stderr)
PY

printf 'bootstrap.servers=%s\nksql.service.id=%s_\n' "$BROKER" "$RUN" > "$DATA/sluice.properties"
for n in $(seq 0 $((SERVERS - 1))); do
  "$SLUICE" server --config "$DATA/sluice.properties" --listen "127.0.0.1:$((PORT + n))" \
    --data-dir "$DATA/server$n" > "$DATA/server$n.log" 2>&1 &
  until curl -s "http://127.0.0.1:$((PORT + n))/info" > /dev/null; do sleep 0.05; done
done
URL=http://127.0.0.1:$PORT
curl -s -X POST "$URL/ksql" -H 'Content-Type: application/vnd.ksql.v1+json' -d "{\"ksql\": \"CREATE STREAM bids (auction BIGINT KEY, bidder BIGINT, price BIGINT, channel STRING, url STRING, dateTime BIGINT, extra STRING) WITH (kafka_topic='${RUN}_bids', key_format='KAFKA', value_format='JSON'); CREATE TABLE agg AS SELECT auction, COUNT(*) AS c, SUM(price) AS s, MAX(price) AS m FROM bids GROUP BY auction;\", \"streamsProperties\": {\"ksql.streams.auto.offset.reset\": \"earliest\"}}" > /dev/null
start=$(date +%s.%N)
until [ "$(curl -s -X POST "$URL/query" -H 'Content-Type: application/vnd.ksql.v1+json' \
    -d '{"ksql": "SELECT C FROM AGG;"}' | "$PYTHON" -c 'import json,sys
print(sum(r["row"]["columns"][0] for r in json.load(sys.stdin) if isinstance(r, dict) and "row" in r))' 2>/dev/null)" = "$BIDS" ]; do
  sleep 0.25
done
"$PYTHON" -c "import time; s = time.time() - $start; print(f'servers=$SERVERS bids=$BIDS keys=$KEYS seconds={s:.1f} bids_per_second={$BIDS / s:,.0f}')"
