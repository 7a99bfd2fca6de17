"""The settings of the local Airflow, in one place: ``make demo``, ``make airflow`` and ``make env`` read them here.

  python scripts/local_env.py exports [--dir DIR] [--port PORT]   # export NAME='value' lines for a shell
  python scripts/local_env.py make TARGET[:NAME,...] ...          # the demo's settings as Make exports

Everything lives under one folder (default: the repository): the Airflow home ``.airflow/``
(SQLite metadata), ``.demo/`` (the sample database and the SQLite request store) and
``demo-output/`` (where the sample report is delivered). ``make demo`` uses the demo settings
only; ``make airflow`` and ``make env`` add what the separate api-server, scheduler,
dag-processor and triggerer need. A request-store connection already in the environment
(``AIRFLOW_CONN_REPORTING_REQUEST_STORE``) is kept, as ``make demo`` always did.

Standard library only: the Makefile runs this before ``.venv`` exists.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).absolute().parents[1]
DEFAULT_PORT = 8080
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
STORE_VARIABLE = "AIRFLOW_CONN_REPORTING_REQUEST_STORE"
# Settings a value in the caller's environment wins over (the request store: point the demo at your own).
FROM_ENVIRONMENT = frozenset({STORE_VARIABLE})
# Joins the lines of ``make`` output: Make's $(shell) turns newlines into spaces.
MAKE_LINE_BREAK = "<<newline>>"


def home_of(base: Path) -> Path:
    """The Airflow home under a local folder.

    :param base: the folder that holds ``.airflow/``, ``.demo/`` and ``demo-output/``.
    """
    return base / ".airflow"


def demo_env(base: Path = ROOT, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings ``make demo`` runs with: this repository's DAGs and plugins on SQLite, no examples.

    :param base: the folder that holds ``.airflow/``, ``.demo/`` and ``demo-output/``.
    :param environ: the caller's environment (default ``os.environ``); only the request store is read from it.
    """
    environ = os.environ if environ is None else environ
    home = home_of(base)
    data = base / ".demo"
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        # Written out, not Path.as_uri(): the demo has always used the plain path.
        "AIRFLOW__REPORTING__STAGING_ROOT": f"file://{home / 'staging'}",
        "AIRFLOW_CONN_REPORTING_SAMPLE_DB": json.dumps({"conn_type": "sqlite", "host": str(data / "sample.db")}),
        "REPORTING_OUTPUT_DIR": str(base / "demo-output"),
        STORE_VARIABLE: json.dumps({"conn_type": "sqlite", "host": str(data / "requests.db")}),
    }
    for name in FROM_ENVIRONMENT:
        if environ.get(name):
            env[name] = environ[name]
    return env


def local_secrets(home: Path) -> dict[str, str]:
    """The JWT secret and the API secret key of a local Airflow home, made once and kept in the home.

    Every process must sign and check tokens with the same secret; keeping it in the home lets
    tokens and UI sessions outlive a restart.

    :param home: the Airflow home.
    """
    path = home / "local_secrets.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    home.mkdir(parents=True, exist_ok=True)
    values = {"jwt_secret": secrets.token_urlsafe(32), "secret_key": secrets.token_urlsafe(32)}
    # Created readable by the owner only, then renamed into place, so a reader never sees half a file.
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(values, file)
    os.replace(temporary, path)
    return values


def server_env(base: Path = ROOT, port: int = DEFAULT_PORT, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings of ``make airflow`` and ``make env``: the demo's, plus the separate processes' own.

    :param base: the folder that holds ``.airflow/``, ``.demo/`` and ``demo-output/``.
    :param port: the API server's port.
    :param environ: the caller's environment (default ``os.environ``); only the request store is read from it.
    """
    env = demo_env(base, environ)
    home = home_of(base)
    keys = local_secrets(home)
    env.update(
        {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            # A laptop or a 2-core machine: a few task slots keep it responsive.
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
            "AIRFLOW__API__SECRET_KEY": keys["secret_key"],
            # Loopback only: the login is admin/admin.
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
            # Task processes report to the API server through the execution API.
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            # A new or changed definition shows up within seconds, not minutes.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        }
    )
    return env


def shell_quote(value: str) -> str:
    """A value in single quotes for a POSIX shell.

    :param value: any text.
    """
    return "'" + value.replace("'", "'\\''") + "'"


def shell_exports(env: Mapping[str, str]) -> str:
    """``export NAME='value'`` lines, and this repository's ``.venv/bin`` first on PATH, for ``eval``.

    :param env: the settings.
    """
    lines = [f"export {name}={shell_quote(value)}" for name, value in env.items()]
    lines.append(f'export PATH={shell_quote(str(ROOT / ".venv" / "bin"))}:"$PATH"')
    return "\n".join(lines)


def make_exports(env: Mapping[str, str], targets: list[str]) -> str:
    """Target-specific Make exports, for ``$(eval ...)`` after replacing :data:`MAKE_LINE_BREAK` by newlines.

    :param env: the settings.
    :param targets: ``target`` for every setting, or ``target:NAME,NAME`` for some.
    """
    lines = []
    for spec in targets:
        target, _, names = spec.partition(":")
        wanted = names.split(",") if names else list(env)
        for name in wanted:
            value = env[name].replace("$", "$$").replace("#", "\\#")
            # ?= keeps a value the caller's environment already has
            operator = "?=" if name in FROM_ENVIRONMENT else ":="
            lines.append(f"{target}: export {name} {operator} {value}")
    return MAKE_LINE_BREAK.join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the settings in the form asked for.

    :param argv: command-line arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    exports = commands.add_parser("exports", help="export NAME='value' lines of make airflow's settings")
    exports.add_argument("--dir", type=Path, default=ROOT, help="the folder of .airflow/, .demo/, demo-output/")
    exports.add_argument("--port", type=int, default=DEFAULT_PORT, help="the API server's port")
    make = commands.add_parser("make", help="the demo's settings as target-specific Make exports")
    make.add_argument("--dir", type=Path, default=ROOT, help="the folder of .airflow/, .demo/, demo-output/")
    make.add_argument("targets", nargs="+", metavar="TARGET[:NAME,...]")
    args = parser.parse_args(argv)
    base = args.dir.absolute()
    if args.command == "exports":
        print(shell_exports(server_env(base, args.port)))
    else:
        print(make_exports(demo_env(base), args.targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
