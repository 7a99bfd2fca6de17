"""Staging on S3 (the production setting) against moto's S3 server: stage, read back, deliver."""

from __future__ import annotations

import hashlib

import pytest

from operators.distribution import deliver_local
from operators.staging import S3Location, copy_staged, stage_file
from reporting.definition import LocalTarget
from reporting.naming import NamingContext

BUCKET = "reporting-staging-it"


@pytest.fixture
def s3_staging(s3_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AWS_STAGING", s3_server.connection())
    monkeypatch.setenv("AIRFLOW__REPORTING__STAGING_ROOT", f"s3://aws_staging@{BUCKET}/staging/")
    client = s3_server.client()
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
    return client


def test_artifacts_are_staged_under_their_deterministic_key_and_read_back(s3_staging, tmp_path):
    local = tmp_path / "sales.pdf"
    local.write_bytes(b"%PDF-1.4 staged " * 5000)

    uri = stage_file(local, "sales/2026-11-20/req-1/sales.pdf")

    assert uri == f"s3://aws_staging@{BUCKET}/staging/sales/2026-11-20/req-1/sales.pdf"
    stored = s3_staging.get_object(Bucket=BUCKET, Key="staging/sales/2026-11-20/req-1/sales.pdf")["Body"].read()
    assert stored == local.read_bytes()

    local.write_bytes(b"%PDF-1.4 second try")
    assert stage_file(local, "sales/2026-11-20/req-1/sales.pdf") == uri, "a retry overwrites its own artifact"
    size, digest = copy_staged(uri, tmp_path / "back.pdf")
    assert (tmp_path / "back.pdf").read_bytes() == b"%PDF-1.4 second try"
    assert (size, digest) == (19, hashlib.sha256(b"%PDF-1.4 second try").hexdigest())


def test_a_target_is_delivered_from_s3_staging(s3_staging, tmp_path):
    local = tmp_path / "r.csv"
    local.write_bytes(b"a,b\n1,2\n")
    uri = stage_file(local, "sales/2026-11-20/req-2/r.csv")
    artifact = {"format": "csv", "uri": uri, "sha256": hashlib.sha256(b"a,b\n1,2\n").hexdigest()}
    naming = NamingContext("sales", "2026-11-20", "req-2", "Sales", {})

    outcome = deliver_local(LocalTarget(type="local", path=str(tmp_path / "nas")), artifact, naming)

    assert (tmp_path / "nas" / "sales_2026-11-20.csv").read_bytes() == b"a,b\n1,2\n"
    assert outcome["sha256"] == artifact["sha256"]


def test_s3_uris_name_their_connection():
    assert S3Location.parse("s3://conn@bucket/a/b.pdf") == S3Location("conn", "bucket", "a/b.pdf")
    assert S3Location.parse("s3://bucket/a.pdf").conn_id == "aws_default"
