"""docker-compose.yaml parses and its Airflow services are wired consistently (Docker is not run here)."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yaml"
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_every_service_has_an_image_and_valid_dependencies():
    services = _compose()["services"]
    assert {"postgres", "redis", "airflow-init", *AIRFLOW_SERVICES} <= set(services)
    for name, service in services.items():
        assert service.get("image"), f"{name} has no image"
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"


def test_airflow_services_share_the_common_settings():
    services = _compose()["services"]
    for name, command in AIRFLOW_SERVICES.items():
        service = services[name]
        assert service["command"] == command
        assert service["healthcheck"]["test"], f"{name} has no healthcheck"
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
        assert "./dags:/opt/airflow/dags" in service["volumes"]
        assert "./plugins:/opt/airflow/plugins" in service["volumes"]
        assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


STAND_INS = {"s3": 5000, "sftp": 22, "smtp": 1025, "postgres": 5432}


def _airflow_connections(env: dict) -> dict[str, dict]:
    import json

    return {k: json.loads(v) for k, v in env.items() if k.startswith("AIRFLOW_CONN_")}


def test_anchors_are_resolved_and_every_service_is_complete():
    """Every service, once anchors are merged, has an image, a healthcheck and known dependencies."""
    services = _compose()["services"]
    assert "<<" not in str(_compose()), "an anchor merge key survived loading"
    for name, service in services.items():
        assert service["image"], name
        assert service["healthcheck"]["test"], f"{name} has no healthcheck"
        for dependency, rule in service.get("depends_on", {}).items():
            assert rule["condition"] in {"service_healthy", "service_completed_successfully", "service_started"}
            if rule["condition"] == "service_healthy":
                assert services[dependency].get("healthcheck"), f"{name} waits for {dependency}'s health"
    for name in (*AIRFLOW_SERVICES, "airflow-init"):
        env = services[name]["environment"]
        assert "AIRFLOW_CONN_REPORTING_REQUEST_STORE" in env, name
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"], name


def test_connections_point_at_services_of_the_stack():
    """Each connection's host is a service of this file, on the port that stand-in listens on."""
    services = _compose()["services"]
    connections = _airflow_connections(services["airflow-init"]["environment"])
    from urllib.parse import urlsplit

    # S3 names its server in extra.endpoint_url; the others in host and port.
    addresses = {}
    for key, conn in connections.items():
        if conn["conn_type"] == "sqlite":
            continue
        endpoint = urlsplit(conn.get("extra", {}).get("endpoint_url", ""))
        addresses[key] = (conn.get("host") or endpoint.hostname, conn.get("port") or endpoint.port)
    assert {host for host, _ in addresses.values()} == set(STAND_INS)
    for key, (host, port) in addresses.items():
        assert host in services, key
        assert port == STAND_INS[host], key
    assert {"s3", "sftp", "smtp"} <= set(services)


def test_init_creates_the_request_store_and_the_sample_database():
    """airflow-init migrates, creates the sample DB and applies the schema to the database postgres creates."""
    services = _compose()["services"]
    init = "\n".join(services["airflow-init"]["command"])
    for step in (
        "airflow db migrate",
        "scripts/create_sample_db.py /opt/airflow/output/sample.db",
        "scripts/request_store.py schema --conn reporting_request_store",
    ):
        assert step in init
    env = services["airflow-init"]["environment"]
    store = _airflow_connections(env)["AIRFLOW_CONN_REPORTING_REQUEST_STORE"]
    assert _airflow_connections(env)["AIRFLOW_CONN_REPORTING_SAMPLE_DB"]["host"] == "/opt/airflow/output/sample.db"
    mount = next(v for v in services["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in v)
    sql = (COMPOSE.parent / mount.split(":")[0]).read_text()
    assert f"CREATE DATABASE {store['schema']}" in sql
    assert "./scripts:/opt/airflow/scripts" in services["airflow-init"]["volumes"]


def test_every_mounted_project_folder_exists():
    """Bind mounts name folders and files of this repository (not a typo that Docker would create empty)."""
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./") and not source.startswith("./.compose"):
                assert (COMPOSE.parent / source).exists(), f"{name}: {source}"
