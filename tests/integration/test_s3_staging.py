"""Staging on S3 (the production setting) through ObjectStoragePath and s3fs, against moto's S3 server.

Stage, overwrite on retry, read back, deliver, presign; a large artifact goes up in parts; the
server stopped in the middle of an upload leaves nothing under the final key; the sample report
runs end to end with its artifacts staged on S3.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import urllib.request

import pytest
from airflow.sdk import ObjectStoragePath
from botocore.exceptions import BotoCoreError

from operators.distribute import deliver_local
from report_runtime.staging import copy_staged, presigned_url, stage_file, staged_path
from reporting.definition import LocalTarget
from reporting.naming import NamingContext
from support.runs import task_states
from support.runs import test_run as run_dag

BUCKET = "reporting-staging-it"
KEY = "sales/2026-11-20/req-1/sales.pdf"


@pytest.fixture
def s3_staging(s3_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AWS_STAGING", s3_server.connection())
    monkeypatch.setenv("AIRFLOW__REPORTING__STAGING_ROOT", f"s3://aws_staging@{BUCKET}/staging/")
    client = s3_server.client()
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
    return client


def _keys(client, prefix: str) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def test_artifacts_are_staged_under_their_deterministic_key_and_a_retry_overwrites_only_its_own(s3_staging, tmp_path):
    local = tmp_path / "sales.pdf"
    local.write_bytes(b"%PDF-1.4 staged " * 5000)
    sibling = tmp_path / "sales.csv"
    sibling.write_bytes(b"a,b\n1,2\n")
    sibling_uri = stage_file(sibling, "sales/2026-11-20/req-1/sales.csv")

    uri = stage_file(local, KEY)

    assert uri == f"s3://aws_staging@{BUCKET}/staging/{KEY}"
    head = s3_staging.head_object(Bucket=BUCKET, Key=f"staging/{KEY}")
    assert head["ContentLength"] == 80_000 and head["ContentType"] == "application/pdf"
    assert s3_staging.get_object(Bucket=BUCKET, Key=f"staging/{KEY}")["Body"].read() == local.read_bytes()

    local.write_bytes(b"%PDF-1.4 second try")
    assert stage_file(local, KEY) == uri, "a retry writes the same key"

    assert s3_staging.get_object(Bucket=BUCKET, Key=f"staging/{KEY}")["Body"].read() == b"%PDF-1.4 second try"
    assert sorted(_keys(s3_staging, "staging/sales/2026-11-20/req-1/")) == [
        "staging/sales/2026-11-20/req-1/sales.csv",
        f"staging/{KEY}",
    ], "nothing else was written or removed"
    size, digest = copy_staged(uri, tmp_path / "back.pdf")
    assert (tmp_path / "back.pdf").read_bytes() == b"%PDF-1.4 second try"
    assert (size, digest) == (19, hashlib.sha256(b"%PDF-1.4 second try").hexdigest())
    assert copy_staged(sibling_uri, tmp_path / "back.csv") == (8, hashlib.sha256(b"a,b\n1,2\n").hexdigest())


def test_a_large_artifact_goes_up_in_parts_and_reads_back_whole(s3_staging, tmp_path):
    data = os.urandom(20 * 1024 * 1024 + 12345)
    local = tmp_path / "big.xlsx"
    local.write_bytes(data)

    uri = stage_file(local, "sales/2026-11-20/req-big/big.xlsx")

    head = s3_staging.head_object(Bucket=BUCKET, Key="staging/sales/2026-11-20/req-big/big.xlsx")
    assert head["ETag"].strip('"').endswith("-3"), "a multipart upload of three 8 MiB parts"
    assert s3_staging.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert copy_staged(uri, tmp_path / "back.xlsx") == (len(data), hashlib.sha256(data).hexdigest())


def _stop_when_a_multipart_upload_starts(client, server) -> threading.Thread:
    """Stop the S3 server as soon as it reports a multipart upload in progress."""

    def watch() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if client.list_multipart_uploads(Bucket=BUCKET).get("Uploads"):
                    server.stop()
                    return
            except Exception:
                pass
            time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_the_server_stopped_mid_upload_leaves_nothing_under_the_final_key_and_a_retry_completes_it(
    s3_staging, s3_server, tmp_path
):
    key = "sales/2026-11-20/req-crash/big.csv"
    data = os.urandom(160 * 1024 * 1024)
    local = tmp_path / "big.csv"
    local.write_bytes(data)
    watcher = _stop_when_a_multipart_upload_starts(s3_staging, s3_server)
    try:
        with pytest.raises((BotoCoreError, OSError)):  # EndpointConnectionError; s3fs maps some to OSError
            stage_file(local, key)
        watcher.join(5)
        assert s3_server.server is None, "the server was stopped during the upload"
    finally:
        if s3_server.server is None:
            s3_server.start()
    assert _keys(s3_staging, f"staging/{key}") == [], "nothing under the final key"
    for upload in s3_staging.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):
        s3_staging.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])

    uri = stage_file(local, key)

    assert copy_staged(uri, tmp_path / "back.csv") == (len(data), hashlib.sha256(data).hexdigest())


def test_a_target_is_delivered_from_s3_staging(s3_staging, tmp_path):
    local = tmp_path / "r.csv"
    local.write_bytes(b"a,b\n1,2\n")
    uri = stage_file(local, "sales/2026-11-20/req-2/r.csv")
    artifact = {"format": "csv", "uri": uri, "sha256": hashlib.sha256(b"a,b\n1,2\n").hexdigest()}
    naming = NamingContext("sales", "2026-11-20", "req-2", "Sales", {})

    outcome = deliver_local(LocalTarget(type="local", path=str(tmp_path / "nas")), artifact, naming)

    assert (tmp_path / "nas" / "sales_2026-11-20.csv").read_bytes() == b"a,b\n1,2\n"
    assert outcome["sha256"] == artifact["sha256"]


def test_a_staged_artifact_has_a_presigned_link(s3_staging, s3_server, tmp_path):
    local = tmp_path / "r.pdf"
    local.write_bytes(b"%PDF-1.4 linked")
    uri = stage_file(local, "sales/2026-11-20/req-3/r.pdf")

    url = presigned_url(uri, 3600)

    assert url.startswith(f"{s3_server.endpoint}/{BUCKET}/staging/sales/2026-11-20/req-3/r.pdf?")
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"%PDF-1.4 linked"


def test_a_root_without_a_connection_uses_aws_default(s3_staging, s3_server, monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", s3_server.connection())
    monkeypatch.setenv("AIRFLOW__REPORTING__STAGING_ROOT", f"s3://{BUCKET}/default-conn")
    local = tmp_path / "r.csv"
    local.write_bytes(b"x\n")

    uri = stage_file(local, "sales/2026-11-20/req-4/r.csv")

    assert uri == f"s3://aws_default@{BUCKET}/default-conn/sales/2026-11-20/req-4/r.csv", "readers get the connection"
    assert (
        s3_staging.get_object(Bucket=BUCKET, Key="default-conn/sales/2026-11-20/req-4/r.csv")["Body"].read() == b"x\n"
    )


def test_staging_uris_name_their_connection():
    path = staged_path("s3://conn@bucket/a/b.pdf")
    assert isinstance(path, ObjectStoragePath)
    assert (path.conn_id, path.bucket, path.key, str(path)) == ("conn", "bucket", "a/b.pdf", "s3://conn@bucket/a/b.pdf")
    assert staged_path("s3://bucket/a.pdf").conn_id == "aws_default"
    assert staged_path("file:///tmp/staging/a.pdf").conn_id is None


def test_the_sample_report_stages_on_s3_and_delivers_from_there(sample_dag, report_env, s3_staging, monkeypatch):
    monkeypatch.setenv("AIRFLOW__REPORTING__STAGING_ROOT", f"s3://aws_staging@{BUCKET}/dag-run")
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    run = run_dag(sample_dag)

    assert str(run.state) == "success", task_states(run)
    with create_session() as session:
        row = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == run.dag_id, XComModel.run_id == run.run_id, XComModel.task_id == "generate"
            )
        ).one()
        artifacts = XComModel.deserialize_value(row)
    delivered = {p.suffix.lstrip("."): p.read_bytes() for p in (report_env / "sales_summary").iterdir()}
    assert sorted(delivered) == ["csv", "pdf", "xlsx"]
    for artifact in artifacts:
        assert artifact["uri"].startswith(f"s3://aws_staging@{BUCKET}/dag-run/sales_summary/2026-11-20/")
        key = artifact["uri"].split(f"@{BUCKET}/", 1)[1]
        stored = s3_staging.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert (len(stored), hashlib.sha256(stored).hexdigest()) == (artifact["bytes"], artifact["sha256"])
        assert delivered[artifact["format"]] == stored, "the local target got the staged object's bytes"
