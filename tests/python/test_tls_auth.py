"""ksql-python (PyPI `ksql`) against a Sluice server on TLS with BASIC authentication.

Usage: SSL_CERT_FILE=ca.pem REQUESTS_CA_BUNDLE=ca.pem \
       python3 tests/python/test_tls_auth.py https://127.0.0.1:8443 USER PASSWORD

Prints OK and exits 0 when every check passes.
"""

import collections
import collections.abc
import sys
import time

# ksql 0.10.2 imports `hyper` 0.7, which still uses the pre-3.10 aliases in `collections`.
for _name in ("Iterable", "Mapping", "MutableMapping", "MutableSet"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

from ksql import KSQLAPI  # noqa: E402


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main(url, user, password):
    client = KSQLAPI(url, api_key=user, secret=password, timeout=10)
    check(client.get_ksql_version(), "no version")
    created = client.ksql(
        "CREATE STREAM tls_orders (id INT KEY, qty INT) "
        "WITH (kafka_topic='tls_orders', value_format='JSON', partitions=1);"
    )
    check(created[0]["commandStatus"]["status"] == "SUCCESS", created)
    client.ksql("CREATE TABLE tls_totals AS SELECT id, SUM(qty) AS total FROM tls_orders GROUP BY id;")
    # INSERT VALUES answers with no entity and ksql() reads the first: end with a SHOW.
    client.ksql("INSERT INTO tls_orders (id, qty) VALUES (7, 5); SHOW STREAMS;")
    deadline = time.time() + 10
    while True:
        rows = list(client.query("SELECT * FROM tls_totals WHERE id = 7;", return_objects=True))
        if rows:
            check(rows == [{"ID": 7, "TOTAL": 5}], rows)
            break
        check(time.time() < deadline, "the pull query never answered")
        time.sleep(0.2)

    intruder = KSQLAPI(url, api_key=user, secret="not the password", timeout=10, check_version=False)
    try:
        intruder.ksql("SHOW STREAMS;")
    except Exception as e:  # ksql-python raises its own error or urllib's for a 401
        check("401" in str(e) or "Unauthorized" in str(e), repr(e))
    else:
        raise AssertionError("a wrong password was let in")
    print("OK")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
