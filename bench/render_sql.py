"""Benchmark: render rows from a real PostgreSQL table to CSV, XLSX and PDF; rows/s and peak memory.

Creates a throwaway database on the local server (127.0.0.1:5432, user postgres, trust auth;
override with REPORTING_TEST_PG_HOST/PORT/USER), fills a table with --rows synthetic sale lines
(include/sql/bench/create_sales.sql), then renders each (format, row count) in a fresh
subprocess, as the SQL engine does: a server-side cursor fetched --batch rows at a time, each
batch written by the renderer (plugins/reporting/render/) before the next is fetched.
Each case also runs the SQL engine itself ("engine"): ``SqlReportOperator.generate`` on an
Airflow postgres connection to that database, so the figures hold for the real code path.
The database is dropped at the end.

Peak RSS is the child's ru_maxrss; "growth" is peak RSS minus RSS just before the first fetch,
so what is left is what rendering holds. Flat growth across row counts means memory does not
grow with the rows.

Usage: python bench/render_sql.py [--rows 1000000] [--batch 10000]
       [--csv 10000 100000 1000000] [--xlsx ...] [--pdf 10000 50000 200000] [--json out.json]
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
from typing import Any

import psycopg2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

from reporting.sql import bind  # noqa: E402

SQL = ROOT / "include" / "sql" / "bench"
PG: dict[str, Any] = {
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

def rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

kind, fmt, limit, size = {kind!r}, {fmt!r}, {rows}, {batch}
# Import the writer before measuring the base RSS, so growth is what rendering holds, not code.
if kind == "ours":
    from reporting.render import RenderContext, open_renderer
elif kind == "engine":
    import os
    os.environ["AIRFLOW_CONN_REPORTING_BENCH_PG"] = json.dumps({{"conn_type": "postgres", **{conn!r}}})
    from airflow.sdk import BaseHook
    from operators.generate.sql import SqlReportOperator
    from reporting.definition import ReportDefinition
    from reporting.render import RenderContext
    # The SQL engine exactly as a report runs it: its operator's generate() on an Airflow connection.
    definition = ReportDefinition.model_validate({{
        "id": "bench", "title": "Sales benchmark", "owner": "bench",
        "engine": {{
            "type": "sql", "conn_id": "reporting_bench_pg", "sql": "bench/select_sales.sql", "batch_size": size,
        }},
        "parameters": {{"limit": {{"type": "integer", "default": limit}}}},
        "formats": [fmt], "distribution": [{{"type": "local", "path": "/tmp"}}],
    }})
    operator = SqlReportOperator(task_id="generate", definition=definition, request={{}})
    # One connection first, so the base RSS holds the hook and driver code rather than the rows.
    BaseHook.get_connection("reporting_bench_pg").get_hook().get_conn().close()
elif fmt == "csv":
    import pandas as pd
elif fmt == "xlsx":
    import xlsxwriter
else:
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen import canvas

conn = psycopg2.connect(**{pg!r})
with tempfile.TemporaryDirectory() as folder:
    out = Path(folder) / ("out." + fmt)
    if kind == "floor" and fmt == "csv":
        # The pandas floor: the whole result in memory as one frame, then one to_csv call.
        cursor = conn.cursor()
        base = rss_mib()
        started = time.perf_counter()
        cursor.execute({sql!r}, {params!r})
        frame = pd.DataFrame(cursor.fetchall(), columns=[c[0] for c in cursor.description])
        frame.to_csv(out, index=False)
        rows = len(frame)
    elif kind == "engine":
        # Timed from generate(): that includes opening its own connection, which the others have done.
        cursor = None
        base = rss_mib()
        started = time.perf_counter()
        context = RenderContext("Sales benchmark", "bench", {{"limit": limit}}, datetime.now(timezone.utc))
        [result] = operator.generate({{fmt: out}}, {{"limit": limit}}, context)
        rows = result.rows
    else:
        # A named cursor is a server-side cursor: the server keeps the result, we fetch one batch at a time.
        cursor = conn.cursor(name="bench")
        cursor.itersize = size
        base = rss_mib()
        started = time.perf_counter()
        cursor.execute({sql!r}, {params!r})
        batch = cursor.fetchmany(size)
        columns = [c[0] for c in cursor.description]
        rows = 0
        if kind == "ours":
            context = RenderContext("Sales benchmark", "bench", {{"limit": limit}}, datetime.now(timezone.utc))
            renderer = open_renderer(fmt, out, columns, context)
            while batch:
                renderer.write_batch(batch)
                batch = cursor.fetchmany(size)
            rows = renderer.close().rows
        elif fmt == "xlsx":
            # The xlsxwriter floor: constant_memory, each row written as fetched, no per-cell typing.
            book = xlsxwriter.Workbook(str(out), {{"constant_memory": True}})
            sheet = book.add_worksheet("Data")
            sheet.write_row(0, 0, columns)
            while batch:
                for row in batch:
                    rows += 1
                    sheet.write_row(rows, 0, row)
                batch = cursor.fetchmany(size)
            book.close()
        else:
            # The reportlab floor: the same table drawn cell by cell on a canvas, header on each page.
            page = canvas.Canvas(str(out), pagesize=landscape(A4) if len(columns) > 6 else A4, pageCompression=1)
            width, height = page._pagesize
            step = (width - 72) / len(columns)
            y = 0
            while batch:
                for row in batch:
                    if y < 50:
                        if rows:
                            page.showPage()
                        page.setFont("Helvetica-Bold", 8)
                        y = height - 50
                        for col, name in enumerate(columns):
                            page.drawString(36 + col * step, y, name)
                        page.setFont("Helvetica", 8)
                    y -= 14
                    for col, value in enumerate(row):
                        page.drawString(36 + col * step, y, "" if value is None else str(value))
                    rows += 1
                batch = cursor.fetchmany(size)
            page.save()
    elapsed = time.perf_counter() - started
    written = out.stat().st_size
    if cursor is not None:
        cursor.close()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"rows": rows, "seconds": elapsed, "bytes": written, "base": base, "peak": peak}}))
"""


def _admin():
    conn = psycopg2.connect(dbname="postgres", **PG)
    conn.autocommit = True
    return conn


def run_one(dsn: dict, kind: str, fmt: str, rows: int, batch: int) -> dict:
    """Render ``rows`` rows to ``fmt`` in a fresh interpreter; return its figures.

    :param dsn: psycopg2 connection keywords of the benchmark database.
    :param kind: ``ours`` (plugins/reporting/render/ fed from a cursor), ``engine`` (the SQL
        engine operator's ``generate``) or ``floor`` (the plain library call).
    :param fmt: csv, xlsx or pdf.
    :param rows: how many rows to render.
    :param batch: rows per fetch.
    """
    # The SQL engine's own binding: :name parameters become the driver's bind parameters.
    sql, params = bind((SQL / "select_sales.sql").read_text(), {"limit": rows}, "pyformat")
    conn = {"host": dsn["host"], "port": dsn["port"], "login": dsn["user"], "schema": dsn["dbname"]}
    code = _CHILD.format(
        plugins=str(ROOT / "plugins"),
        pg=dsn,
        conn=conn,
        rows=rows,
        batch=batch,
        fmt=fmt,
        sql=sql,
        params=params,
        kind=kind,
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{kind} {fmt} {rows}: failed\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["rows"] != rows:
        raise SystemExit(f"{kind} {fmt} {rows}: wrote {result['rows']} rows")
    result["rows_per_s"] = rows / result["seconds"]
    result["growth"] = result["peak"] - result["base"]
    return result


def main(argv: list[str] | None = None) -> dict:
    """Create the table, render every (format, rows) case ours and floor, print the table, drop the database.

    :param argv: command-line arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the table")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per fetch")
    parser.add_argument("--csv", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--xlsx", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--pdf", type=int, nargs="*", default=[10_000, 50_000, 200_000])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    cases = [("csv", n) for n in args.csv] + [("xlsx", n) for n in args.xlsx] + [("pdf", n) for n in args.pdf]
    if max(n for _, n in cases) > args.rows:
        parser.error("a row count is larger than --rows")

    name = f"reporting_bench_{uuid.uuid4().hex[:8]}"
    admin = _admin()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    dsn = {**PG, "dbname": name}
    results = []
    floors = {"csv": "pandas to_csv", "xlsx": "xlsxwriter", "pdf": "reportlab"}
    try:
        started = time.perf_counter()
        with psycopg2.connect(**dsn) as conn, conn.cursor() as cur:
            cur.execute(*bind((SQL / "create_sales.sql").read_text(), {"rows": args.rows}, "pyformat"))
        # A fresh table's first reader pays for setting hint bits; vacuum it so no case pays that.
        vacuum = psycopg2.connect(**dsn)
        vacuum.autocommit = True
        with vacuum.cursor() as cur:
            cur.execute("VACUUM ANALYZE bench_sales")
        vacuum.close()
        print(
            f"render: table bench_sales {args.rows:,} rows in {time.perf_counter() - started:.1f} s "
            f"(PostgreSQL, database {name}); batch {args.batch:,} rows; "
            f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
        )
        print(
            f"{'format':<6} {'rows':>10} | {'ours rows/s':>11} {'peak':>6} {'growth':>6} | "
            f"{'floor':<13} {'rows/s':>9} {'peak':>6} {'growth':>6} | {'speed ratio':>11} | "
            f"{'engine rows/s':>13} {'peak':>6} {'growth':>6}   (MiB)"
        )
        for fmt, rows in cases:
            ours = run_one(dsn, "ours", fmt, rows, args.batch)
            floor = run_one(dsn, "floor", fmt, rows, args.batch)
            engine = run_one(dsn, "engine", fmt, rows, args.batch)
            ratio = ours["rows_per_s"] / floor["rows_per_s"]
            results.append(
                {
                    "format": fmt,
                    "rows": rows,
                    "ours": ours,
                    "floor": floor,
                    "engine": engine,
                    "floor_name": floors[fmt],
                    "speed_vs_floor": ratio,
                }
            )
            print(
                f"{fmt:<6} {rows:>10,} | {ours['rows_per_s']:>11,.0f} {ours['peak']:>6.0f} {ours['growth']:>6.0f} | "
                f"{floors[fmt]:<13} {floor['rows_per_s']:>9,.0f} {floor['peak']:>6.0f} {floor['growth']:>6.0f} | "
                f"{ratio:>10.2f}x | {engine['rows_per_s']:>13,.0f} {engine['peak']:>6.0f} {engine['growth']:>6.0f}",
                flush=True,
            )
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return {"render": results}


if __name__ == "__main__":
    main()
