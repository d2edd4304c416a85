"""Drives a running Sluice server with ksql-python (PyPI `ksql`), the way its users do.

Usage: python3 tests/python/test_ksql_client.py http://127.0.0.1:8088

Exit status: 0 when every check passes, 1 on a failed check, 77 when the `ksql` package is
not installed (the Rust test that runs this script then reports it as skipped).
"""

import collections
import collections.abc
import sys
import time

# ksql 0.10.2 imports `hyper` 0.7, which still uses the pre-3.10 aliases in `collections`
# (`collections.Iterable` …). Restore them so the package imports on current Pythons.
for _name in ("Iterable", "Mapping", "MutableMapping", "MutableSet"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

try:
    from ksql import KSQLAPI
    from ksql.errors import KSQLError
except ModuleNotFoundError as e:
    if e.name in ("ksql", "hyper", "requests"):
        print(f"SKIP: the ksql-python client is not installed ({e})")
        sys.exit(77)
    raise


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main(url):
    client = KSQLAPI(url, timeout=10)

    version = client.get_ksql_version()
    check(isinstance(version, str) and version, f"version {version!r}")

    # DDL through client.ksql(): one entity per statement.
    created = client.ksql(
        "CREATE STREAM py_orders (id INT KEY, item STRING, qty INT) "
        "WITH (kafka_topic='py_orders', value_format='JSON', partitions=1);"
    )
    check(created[0]["@type"] == "currentStatus", created)
    check(created[0]["commandStatus"]["status"] == "SUCCESS", created)
    check(created[0]["commandStatus"]["message"] == "Stream created", created)
    created = client.ksql(
        "CREATE TABLE py_totals AS SELECT item, SUM(qty) AS total FROM py_orders GROUP BY item;"
    )
    check(created[0]["commandStatus"]["status"] == "SUCCESS", created)
    check(created[0]["commandStatus"]["queryId"].startswith("CTAS_PY_TOTALS_"), created)

    streams = client.ksql("SHOW STREAMS;")
    names = [s["name"] for s in streams[0]["streams"]]
    check("PY_ORDERS" in names, names)

    # Inserts: INSERT VALUES through client.ksql(), and rows through client.inserts_stream().
    # INSERT VALUES answers with no entity (as ksqlDB's does), and ksql-python's ksql() reads
    # the first entity of the answer, so the INSERTs go in one request that ends with SHOW.
    answer = client.ksql(
        "INSERT INTO py_orders (id, item, qty) VALUES (1, 'apple', 3);"
        "INSERT INTO py_orders (id, item, qty) VALUES (2, 'pear', 5);"
        "SHOW STREAMS;"
    )
    check(len(answer) == 1 and answer[0]["@type"] == "streams", answer)
    acks = client.inserts_stream(
        "py_orders",
        [{"ID": 3, "ITEM": "apple", "QTY": 4}, {"ID": 4, "ITEM": "plum", "QTY": 1}],
    )
    check(acks == [{"status": "ok", "seq": 0}, {"status": "ok", "seq": 1}], acks)

    expected = [
        {"ID": 1, "ITEM": "apple", "QTY": 3},
        {"ID": 2, "ITEM": "pear", "QTY": 5},
        {"ID": 3, "ITEM": "apple", "QTY": 4},
        {"ID": 4, "ITEM": "plum", "QTY": 1},
    ]

    # Push query from the beginning, as objects (client.query() over /query).
    rows = list(
        client.query(
            "SELECT * FROM py_orders EMIT CHANGES LIMIT 4;",
            stream_properties={"ksql.streams.auto.offset.reset": "earliest"},
            return_objects=True,
        )
    )
    check(rows == expected, rows)

    # The same query, raw: the header, one chunk per row, the final message. (ksql-python's
    # raw mode raises RuntimeError after the last chunk, a bug in its generator, so stop at
    # the final message.)
    chunks = []
    for chunk in client.query(
        "SELECT item, qty FROM py_orders EMIT CHANGES LIMIT 2;",
        stream_properties={"ksql.streams.auto.offset.reset": "earliest"},
    ):
        chunks.append(chunk)
        if "finalMessage" in chunk:
            break
    check(chunks[0].startswith('[{"header":'), chunks)
    check("`ITEM` STRING, `QTY` INTEGER" in chunks[0], chunks)
    check('"columns":["apple",3]' in chunks[1], chunks)
    check('"columns":["pear",5]' in chunks[2], chunks)
    check('"finalMessage":"Limit Reached"' in chunks[3], chunks)

    # Pull queries on the CTAS table: a key lookup, polled until the query has caught up.
    deadline = time.time() + 10
    while True:
        rows = list(
            client.query("SELECT * FROM py_totals WHERE item = 'apple';", return_objects=True)
        )
        if rows == [{"ITEM": "apple", "TOTAL": 7}] or time.time() > deadline:
            break
        time.sleep(0.05)
    check(rows == [{"ITEM": "apple", "TOTAL": 7}], rows)
    rows = list(client.query("SELECT * FROM py_totals;", return_objects=True))
    check(
        sorted(rows, key=lambda r: r["ITEM"])
        == [
            {"ITEM": "apple", "TOTAL": 7},
            {"ITEM": "pear", "TOTAL": 5},
            {"ITEM": "plum", "TOTAL": 1},
        ],
        rows,
    )

    # A bad statement raises KSQLError with ksqlDB's code, and changes nothing.
    try:
        client.ksql("CREATE STREAM py_broken AS SELEC * FROM py_orders;")
        check(False, "a bad statement was accepted")
    except KSQLError as e:
        check(e.error_code == 40001, (e.error_code, e.msg))
        check(e.msg.startswith("line 1:"), e.msg)
    streams = client.ksql("SHOW STREAMS;")
    check([s["name"] for s in streams[0]["streams"]] == names, streams)

    print("ok: ksql-python drove the server")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    try:
        main(sys.argv[1])
    except AssertionError as e:
        print(f"FAILED: {e}")
        sys.exit(1)
