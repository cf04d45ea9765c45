#!/usr/bin/env python3
"""Runs a rendered analysis SQL file (from `tracer-analyze sql`) in DuckDB and prints the
result rows as a JSON list of objects. Used by the `duckdb_agreement` test; fails (exit 1) if
the duckdb module is missing, so a CI without it cannot pass silently.

Usage: duckdb_metrics.py QUERY.sql
"""

import json
import sys
import time

try:
    import duckdb
except ImportError:
    sys.exit("duckdb is not installed (pip install duckdb): the SQL agreement test needs it")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        sql = f.read()
    started = time.perf_counter()
    con = duckdb.connect()
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r)) for r in cur.fetchall()]
    query_s = time.perf_counter() - started
    print(json.dumps(rows, default=str))
    # The query's own time, for `cargo xtask bench sql`.
    print(f"duckdb_metrics: {len(rows)} rows query_s={query_s:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
