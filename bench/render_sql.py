"""Benchmark: render rows from a real PostgreSQL table to CSV, XLSX and PDF; rows/s and peak memory.

Creates a throwaway database on the local server (127.0.0.1:5432, user postgres, trust auth;
override with REPORTING_TEST_PG_HOST/PORT/USER), fills a table with --rows synthetic sale lines
(include/sql/bench/create_sales.sql), then renders each (format, row count) in a fresh
subprocess, as the SQL engine does: a server-side cursor fetched --batch rows at a time, each
batch written by the renderer (plugins/reporting/renderers.py) before the next is fetched.
The database is dropped at the end.

Peak RSS is the child's ru_maxrss; "growth" is peak RSS minus RSS just before the first fetch,
so what is left is what rendering holds. Flat growth across row counts means memory does not
grow with the rows.

Usage: python bench/render_sql.py [--rows 1000000] [--batch 10000]
       [--csv 100000 1000000] [--xlsx 100000 1000000] [--pdf 5000 50000]
Never part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

from reporting.sql import bind  # noqa: E402
SQL = ROOT / "include" / "sql" / "bench"
PG = {
    "host": os.environ.get("REPORTING_TEST_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("REPORTING_TEST_PG_PORT", "5432")),
    "user": os.environ.get("REPORTING_TEST_PG_USER", "postgres"),
}

_CHILD = r"""
import json, resource, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
sys.path.insert(0, {plugins!r})
import psycopg2
from reporting.renderers import RenderContext, open_renderer

def rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

conn = psycopg2.connect(**{pg!r})
context = RenderContext("Sales benchmark", "bench", {{"limit": {rows}}}, datetime.now(timezone.utc))
with tempfile.TemporaryDirectory() as folder:
    # A named cursor is a server-side cursor: the server keeps the result, we fetch one batch at a time.
    cursor = conn.cursor(name="bench")
    cursor.itersize = {batch}
    cursor.execute({sql!r}, {params!r})
    base = rss_mib()
    started = time.perf_counter()
    first = cursor.fetchmany({batch})
    columns = [c[0] for c in cursor.description]
    renderer = open_renderer({fmt!r}, Path(folder) / "out.{fmt}", columns, context)
    batch = first
    while batch:
        renderer.write_batch(batch)
        batch = cursor.fetchmany({batch})
    result = renderer.close()
    elapsed = time.perf_counter() - started
    cursor.close()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"rows": result.rows, "seconds": elapsed, "bytes": result.bytes, "base": base, "peak": peak}}))
"""


def _admin():
    conn = psycopg2.connect(dbname="postgres", **PG)
    conn.autocommit = True
    return conn


def run_one(dsn: dict, fmt: str, rows: int, batch: int) -> dict:
    """Render ``rows`` rows to ``fmt`` in a fresh interpreter; return its figures."""
    # The SQL engine's own binding: :name parameters become the driver's bind parameters.
    sql, params = bind((SQL / "select_sales.sql").read_text(), {"limit": rows}, "pyformat")
    code = _CHILD.format(plugins=str(ROOT / "plugins"), pg=dsn, rows=rows, batch=batch, fmt=fmt, sql=sql, params=params)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Create the table, render every (format, rows) case, print the table, drop the database.

    :param argv: command-line arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the table")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per fetch")
    parser.add_argument("--csv", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--xlsx", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--pdf", type=int, nargs="*", default=[5_000, 50_000])
    args = parser.parse_args(argv)
    cases = [("csv", n) for n in args.csv] + [("xlsx", n) for n in args.xlsx] + [("pdf", n) for n in args.pdf]
    if max(n for _, n in cases) > args.rows:
        parser.error("a row count is larger than --rows")

    name = f"reporting_bench_{uuid.uuid4().hex[:8]}"
    admin = _admin()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    dsn = {**PG, "dbname": name}
    try:
        started = time.perf_counter()
        with psycopg2.connect(**dsn) as conn, conn.cursor() as cur:
            cur.execute(*bind((SQL / "create_sales.sql").read_text(), {"rows": args.rows}, "pyformat"))
        print(f"table bench_sales: {args.rows:,} rows in {time.perf_counter() - started:.1f} s "
              f"(PostgreSQL, database {name}); batch {args.batch:,} rows; "
              f"Python {platform.python_version()}, {os.cpu_count()} CPUs")
        print(f"{'format':<6} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'MiB out':>8} {'peak RSS':>9} {'growth':>8}")
        for fmt, rows in cases:
            r = run_one(dsn, fmt, rows, args.batch)
            assert r["rows"] == rows, r
            print(f"{fmt:<6} {rows:>10,} {r['seconds']:>8.1f} {rows / r['seconds']:>9,.0f} "
                  f"{r['bytes'] / 2**20:>8.1f} {r['peak']:>7.0f} M {r['peak'] - r['base']:>6.0f} M", flush=True)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
