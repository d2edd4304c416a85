#!/usr/bin/env bash
# Restart after kill -9: how soon a server that holds a large aggregate answers pull queries
# again, and how soon its restored state counts a new record.
#
#   benches/restart.sh BIDS KEYS [SLUICE]
#
# With JOIN_KEYS=N, the server also holds a table of N names joined to every bid
# (`CREATE STREAM named AS … bids JOIN names …`), and the script prints the seconds until a bid
# produced after the restart comes out of the join (its table side restored).
#
# Loads BIDS bids over KEYS auctions (offline, with `sluice topics produce --data-dir`) into a
# 2-partition stream counted by `CREATE TABLE … COUNT(*) … GROUP BY auction` (caching on),
# waits until the pull query of the last auction answers with its full count, kills the server
# with SIGKILL, starts it again on the same data directory, and prints the seconds until
# (1) that pull query answers right again and (2) a bid produced after the restart is counted.
set -euo pipefail
BIDS=${1:?bids}
KEYS=${2:?keys}
SLUICE=${3:-target/release/sluice}
PORT=${PORT:-18088}
URL=http://127.0.0.1:$PORT
DATA=$(mktemp -d)
# KEEP=1 leaves the data directory for a closer look (its path is printed).
trap 'kill -9 $(jobs -p) 2>/dev/null || true; if [ -z "${KEEP:-}" ]; then rm -rf "$DATA"; else echo "data: $DATA/data"; fi' EXIT

python3 - "$BIDS" "$KEYS" > "$DATA/bids.json" <<'PY'
import sys
bids, keys = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout
for i in range(bids):
    out.write('{"auction":"a%d","price":%d}\n' % (i % keys, i % 997))
PY
JOIN_KEYS=${JOIN_KEYS:-0}
python3 - "$JOIN_KEYS" > "$DATA/names.json" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    sys.stdout.write('{"id":"a%d","name":"name %d"}\n' % (i, i))
PY
LAST="a$(( (BIDS - 1) % KEYS ))"
PER_KEY=$(python3 -c "b,k,l=$BIDS,$KEYS,$(( (BIDS - 1) % KEYS )); print(b//k + (1 if l < b%k else 0))")

ksql() {
  curl -s -X POST "$URL/ksql" -H 'Content-Type: application/vnd.ksql.v1+json' \
    -d "{\"ksql\": \"$1\", \"streamsProperties\": {}}" > /dev/null
}
count_of() {
  curl -s -X POST "$URL/query" -H 'Content-Type: application/vnd.ksql.v1+json' \
    -d "{\"ksql\": \"SELECT C FROM COUNTS WHERE AUCTION = '$1';\"}" \
    | python3 -c 'import json,sys
rows=[r["row"]["columns"][0] for r in json.load(sys.stdin) if isinstance(r, dict) and "row" in r]
print(rows[0] if rows else -1)' 2>/dev/null || echo -1
}
wait_for() { # key count -> seconds since $2's start
  local key=$1 want=$2
  until [ "$(count_of "$key")" = "$want" ]; do sleep 0.02; done
}
serve() {
  "$SLUICE" server --listen "127.0.0.1:$PORT" --data-dir "$DATA/data" >> "$DATA/server.log" 2>&1 &
  SERVER=$!
  until curl -s "$URL/info" > /dev/null; do sleep 0.01; done
}

serve
ksql "CREATE STREAM bids (auction STRING KEY, price INT) WITH (kafka_topic='bids', value_format='JSON', partitions=2); CREATE TABLE counts AS SELECT auction, COUNT(*) AS c FROM bids GROUP BY auction;"
if [ "$JOIN_KEYS" -gt 0 ]; then
  ksql "CREATE TABLE names (id STRING PRIMARY KEY, name STRING) WITH (kafka_topic='names', value_format='JSON', partitions=2); CREATE STREAM named AS SELECT bids.auction, bids.price, names.name FROM bids JOIN names ON bids.auction = names.id;"
fi
kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null || true
if [ "$JOIN_KEYS" -gt 0 ]; then
  "$SLUICE" topics produce names "$DATA/names.json" --key id --data-dir "$DATA/data" > /dev/null
fi
"$SLUICE" topics produce bids "$DATA/bids.json" --key auction --data-dir "$DATA/data" > /dev/null
serve
start=$(date +%s.%N)
wait_for "$LAST" "$PER_KEY"
echo "loaded and counted $BIDS bids in $(python3 -c "import time; print(round(time.time() - $start, 1))") s"
sleep 3 # a commit interval: the count is in the changelog
kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null || true

start=$(date +%s.%N)
serve
wait_for "$LAST" "$PER_KEY"
pull=$(python3 -c "import time; print(round(time.time() - $start, 2))")
if [ "$JOIN_KEYS" -gt 0 ]; then
  # The joined row of a new bid, from a push query opened before it is produced.
  ( curl -s -N -X POST "$URL/query-stream" -H 'Content-Type: application/vnd.ksql.v1+json' \
      -d '{"sql": "SELECT * FROM NAMED WHERE AUCTION = '"'a0'"' EMIT CHANGES LIMIT 1;"}' > /dev/null
    python3 -c "import time; print(round(time.time() - $start, 2))" > "$DATA/joined" ) &
  JOINED=$!
  sleep 0.2
fi
curl -s -X POST "$URL/inserts-stream" -H 'Content-Type: application/vnd.ksql.v1+json' \
  -d "{\"target\": \"BIDS\"}
{\"AUCTION\": \"$LAST\", \"PRICE\": 1}
{\"AUCTION\": \"a0\", \"PRICE\": 1}" > /dev/null
wait_for "$LAST" "$((PER_KEY + 1))"
counted=$(python3 -c "import time; print(round(time.time() - $start, 2))")
joined=""
if [ "$JOIN_KEYS" -gt 0 ]; then
  wait "$JOINED"
  joined=" join_keys=$JOIN_KEYS new_bid_joined_after=$(cat "$DATA/joined")s"
fi
echo "bids=$BIDS keys=$KEYS pull_right_after=${pull}s new_bid_counted_after=${counted}s$joined"
du -sh "$DATA/data/topics/"*changelog* 2>/dev/null | sed 's/^/changelog: /'
