"""Parse DAG folders with every network, database and Airflow metadata connect made to fail.

Meant to run in an interpreter of its own, so that this project's modules are first imported
under the guards too (a module another test imported earlier has done its import-time work)::

    python tests/support/guarded_parse.py RESULT.json DAG_FOLDER [DAG_FOLDER ...]

RESULT.json maps each folder to its import errors, its DAG ids and the connects tried while it
was parsed, each with the stack it came from; a connect whose failure the parsed code caught
itself is listed too.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import sqlite3.dbapi2
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

attempts: list[dict[str, str]] = []


def _refuse(name: str) -> Callable[..., NoReturn]:
    """A stand-in for ``name`` that records the call and fails it.

    :param name: what it stands in for, as reported.
    """

    def refused(*args: Any, **kwargs: Any) -> NoReturn:
        attempts.append({"call": name, "stack": "".join(traceback.format_stack(limit=15)[:-1])})
        raise OSError(f"{name} while parsing DAGs")

    return refused


def install_guards() -> None:
    """Make sockets, database drivers, SQLAlchemy engines and Airflow's connection/variable lookups fail."""
    import psycopg
    import psycopg2
    from airflow.sdk import BaseHook, Variable
    from sqlalchemy.engine import Engine

    socket.socket.connect = _refuse("socket.socket.connect")  # type: ignore[method-assign]
    socket.socket.connect_ex = _refuse("socket.socket.connect_ex")  # type: ignore[method-assign]
    socket.create_connection = _refuse("socket.create_connection")
    socket.getaddrinfo = _refuse("socket.getaddrinfo")
    # the sqlite3 package re-exports its dbapi2 module's connect: SQLAlchemy calls the latter
    sqlite3.connect = sqlite3.dbapi2.connect = _refuse("sqlite3.connect")
    # libpq opens its own sockets, out of the socket module's reach
    psycopg2.connect = _refuse("psycopg2.connect")
    psycopg.connect = _refuse("psycopg.connect")
    Engine.connect = _refuse("sqlalchemy Engine.connect")  # type: ignore[method-assign]
    Engine.raw_connection = _refuse("sqlalchemy Engine.raw_connection")  # type: ignore[method-assign]
    # at parse time these reach the API server or the metadata database
    BaseHook.get_connection = staticmethod(_refuse("BaseHook.get_connection"))  # type: ignore[method-assign]
    Variable.get = staticmethod(_refuse("Variable.get"))  # type: ignore[method-assign]


def parse(folders: list[str]) -> dict[str, dict[str, Any]]:
    """Parse each folder with a DagBag of its own; the guards must already be in place.

    :param folders: the DAG folders.
    """
    from airflow.dag_processing.dagbag import DagBag

    results: dict[str, dict[str, Any]] = {}
    for folder in folders:
        attempts.clear()
        bag = DagBag(dag_folder=folder)
        results[folder] = {
            "import_errors": {Path(path).name: message for path, message in bag.import_errors.items()},
            "dag_ids": sorted(bag.dag_ids),
            "attempts": list(attempts),
        }
    return results


def main(argv: list[str]) -> int:
    """Write the parse results of the folders to the result file.

    :param argv: the result file, then the DAG folders.
    """
    result_file, *folders = argv
    install_guards()
    Path(result_file).write_text(json.dumps(parse(folders), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
