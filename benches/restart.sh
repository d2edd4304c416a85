#!/usr/bin/env bash
# Restart after kill -9: how soon a server that holds a large aggregate answers pull queries
# again, and how soon its restored state counts a new record.
#
#   benches/restart.sh BIDS KEYS [SLUICE]
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
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$DATA"' EXIT

python3 - "$BIDS" "$KEYS" > "$DATA/bids.json" <<'PY'
import sys
bids, keys = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout
for i in range(bids):
    out.write('{"auction":"a%d","price":%d}\n' % (i % keys, i % 997))
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
  "$SLUICE" server --listen "127.0.0.1:$PORT" --data-dir "$DATA/data" > "$DATA/server.log" 2>&1 &
  until curl -s "$URL/info" > /dev/null; do sleep 0.01; done
}

serve
ksql "CREATE STREAM bids (auction STRING KEY, price INT) WITH (kafka_topic='bids', value_format='JSON', partitions=2); CREATE TABLE counts AS SELECT auction, COUNT(*) AS c FROM bids GROUP BY auction;"
kill -9 %1; wait %1 2>/dev/null || true
"$SLUICE" topics produce bids "$DATA/bids.json" --key auction --data-dir "$DATA/data" > /dev/null
serve
start=$(date +%s.%N)
wait_for "$LAST" "$PER_KEY"
echo "loaded and counted $BIDS bids in $(python3 -c "import time; print(round(time.time() - $start, 1))") s"
sleep 3 # a commit interval: the count is in the changelog
kill -9 %2; wait %2 2>/dev/null || true

start=$(date +%s.%N)
serve
wait_for "$LAST" "$PER_KEY"
pull=$(python3 -c "import time; print(round(time.time() - $start, 2))")
curl -s -X POST "$URL/inserts-stream" -H 'Content-Type: application/vnd.ksql.v1+json' \
  -d "{\"target\": \"BIDS\"}
{\"AUCTION\": \"$LAST\", \"PRICE\": 1}" > /dev/null
wait_for "$LAST" "$((PER_KEY + 1))"
counted=$(python3 -c "import time; print(round(time.time() - $start, 2))")
echo "bids=$BIDS keys=$KEYS pull_right_after=${pull}s new_bid_counted_after=${counted}s"
du -sh "$DATA/data/topics/"*changelog* 2>/dev/null | sed 's/^/changelog: /'
