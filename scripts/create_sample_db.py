"""Create the embedded sample database the demo report reads (SQLite, deterministic data)."""

from __future__ import annotations

import argparse
import random
import sqlite3
from datetime import date, timedelta
from pathlib import Path

REGIONS = {
    "EMEA": ["Germany", "France", "United Kingdom", "Spain", "Netherlands"],
    "AMER": ["United States", "Canada", "Brazil", "Mexico"],
    "APAC": ["Japan", "Australia", "India", "Singapore"],
}
PRODUCTS = [
    ("Analytics Suite", 1200.0),
    ("Data Connector", 349.0),
    ("Report Designer", 899.0),
    ("Dashboard Pack", 199.0),
    ("Support Plan", 2500.0),
    ("Training Day", 750.0),
]


def create(path: Path, rows: int = 360, seed: int = 7) -> int:
    """Create (or replace) the sample database and return the number of sales rows.

    :param path: the SQLite file to write.
    :param rows: how many sale lines to generate.
    :param seed: the random seed, so every demo sees the same data.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    rng = random.Random(seed)
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE products (product_id INTEGER PRIMARY KEY, name TEXT NOT NULL, list_price REAL NOT NULL);
            CREATE TABLE sales (
                sale_id INTEGER PRIMARY KEY,
                sale_date TEXT NOT NULL,
                region TEXT NOT NULL,
                country TEXT NOT NULL,
                product_id INTEGER NOT NULL REFERENCES products(product_id),
                units INTEGER NOT NULL,
                unit_price REAL NOT NULL
            );
            """
        )
        conn.executemany(
            "INSERT INTO products (product_id, name, list_price) VALUES (?, ?, ?)",
            [(i + 1, name, price) for i, (name, price) in enumerate(PRODUCTS)],
        )
        start = date(2026, 1, 1)
        sales = []
        for sale_id in range(1, rows + 1):
            region = rng.choice(sorted(REGIONS))
            product_id = rng.randint(1, len(PRODUCTS))
            discount = rng.choice([1.0, 1.0, 0.95, 0.9])
            sales.append(
                (
                    sale_id,
                    (start + timedelta(days=rng.randint(0, 320))).isoformat(),
                    region,
                    rng.choice(REGIONS[region]),
                    product_id,
                    rng.randint(1, 40),
                    round(PRODUCTS[product_id - 1][1] * discount, 2),
                )
            )
        conn.executemany(
            "INSERT INTO sales (sale_id, sale_date, region, country, product_id, units, unit_price)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            sales,
        )
    return rows


def main() -> None:
    """Command line: ``python scripts/create_sample_db.py PATH``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=360)
    args = parser.parse_args()
    count = create(args.path, args.rows)
    print(f"sample database: {args.path} ({count} sales rows)")


if __name__ == "__main__":
    main()
