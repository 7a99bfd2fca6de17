"""Each deliverer against its real server on loopback, reading back what arrived.

S3 (moto's server), SFTP (OpenSSH's sshd), SMB (Samba's smbd) and e-mail (aiosmtpd): bytes and
SHA-256 equal, attachments decoded and equal, no temporary file left, a retry idempotent, and a
server killed in the middle of an upload leaves nothing under the final name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from operators.distribute import deliver_email, deliver_s3, deliver_sftp, deliver_smb
from report_runtime.staging import stage_file
from reporting.definition import EmailTarget, S3Target, SftpTarget, SmbTarget
from reporting.naming import NamingContext, TemplateError
from servers.mail import attachments
from support.at_once import execute_together

BUCKET = "reports-it"


@pytest.fixture
def staging(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__REPORTING__STAGING_ROOT", (tmp_path / "staging").as_uri())

    def stage(data: bytes, fmt: str = "csv", name: str | None = None) -> dict:
        source = tmp_path / f"source.{fmt}"
        source.write_bytes(data)
        file_name = name or f"sales_2026-11-20.{fmt}"
        uri = stage_file(source, f"sales/2026-11-20/req-1/{file_name}")
        return {
            "format": fmt,
            "file_name": file_name,
            "uri": uri,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }

    return stage


def _naming(**params) -> NamingContext:
    return NamingContext("sales", "2026-11-20", "req-1", "Sales", params or {"region": "EMEA"})


# --- S3 -------------------------------------------------------------------------------------------


@pytest.fixture
def s3(s3_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AWS_REPORTS_IT", s3_server.connection())
    client = s3_server.client()
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
    return client


def test_s3_writes_the_final_key_with_its_checksum_and_skips_an_identical_object(s3, staging):
    artifact = staging(b"region,revenue\nEMEA,10\n")
    target = S3Target(
        type="s3", conn_id="aws_reports_it", bucket=BUCKET, key="sales/{run_date}/{params[region]}/{report_id}.{format}"
    )

    outcome = deliver_s3(target, artifact, _naming())

    key = "sales/2026-11-20/EMEA/sales.csv"
    assert outcome == {"location": f"s3://{BUCKET}/{key}", "bytes": artifact["bytes"], "sha256": artifact["sha256"]}
    stored = s3.get_object(Bucket=BUCKET, Key=key)
    body = stored["Body"].read()
    assert body == b"region,revenue\nEMEA,10\n"
    assert stored["Metadata"]["sha256"] == hashlib.sha256(body).hexdigest() == artifact["sha256"]
    first_modified = stored["LastModified"]

    again = deliver_s3(target, artifact, _naming())

    assert again["skipped_identical"] is True
    assert s3.head_object(Bucket=BUCKET, Key=key)["LastModified"] == first_modified, "not uploaded again"


def test_s3_replaces_an_object_whose_checksum_differs(s3, staging):
    target = S3Target(type="s3", conn_id="aws_reports_it", bucket=BUCKET, key="replace/{report_id}.{format}")
    s3.put_object(Bucket=BUCKET, Key="replace/sales.csv", Body=b"stale", Metadata={"sha256": "0" * 64})
    artifact = staging(b"fresh,content\n")

    deliver_s3(target, artifact, _naming())

    assert s3.get_object(Bucket=BUCKET, Key="replace/sales.csv")["Body"].read() == b"fresh,content\n"


def test_s3_parameter_values_cannot_add_key_segments(s3, staging):
    target = S3Target(type="s3", conn_id="aws_reports_it", bucket=BUCKET, key="safe/{params[region]}.{format}")

    outcome = deliver_s3(target, staging(b"x"), _naming(region="../../other-prefix/evil"))

    assert outcome["location"] == f"s3://{BUCKET}/safe/_._other-prefix_evil.csv"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="safe/")["Contents"]] == [
        "safe/_._other-prefix_evil.csv"
    ]


# --- SFTP -----------------------------------------------------------------------------------------


@pytest.fixture
def sftp(sftp_server, monkeypatch, request):
    monkeypatch.setenv("AIRFLOW_CONN_SFTP_REPORTS_IT", sftp_server.connection())
    folder = sftp_server.root / request.node.name[:40]
    return sftp_server, folder


def test_sftp_uploads_and_renames_into_place(sftp, staging):
    server, folder = sftp
    artifact = staging(os.urandom(300_000), "pdf")
    target = SftpTarget(
        type="sftp",
        conn_id="sftp_reports_it",
        directory=f"{folder}/daily",
        filename="{report_id}_{params[region]}.{format}",
    )

    outcome = deliver_sftp(target, artifact, _naming())

    final = folder / "daily" / "sales_EMEA.pdf"
    assert outcome == {"location": f"sftp://127.0.0.1{final}", "bytes": 300_000, "sha256": artifact["sha256"]}
    assert hashlib.sha256(final.read_bytes()).hexdigest() == artifact["sha256"]
    assert sorted(p.name for p in final.parent.iterdir()) == ["sales_EMEA.pdf"], "no temporary file left"
    assert final.stat().st_uid == server.user.pw_uid, "written by the SFTP user, not by the test"


def test_sftp_retry_overwrites_an_existing_file(sftp, staging):
    _, folder = sftp
    target = SftpTarget(type="sftp", conn_id="sftp_reports_it", directory=str(folder))
    deliver_sftp(target, staging(b"first version, longer than the second\n"), _naming())
    artifact = staging(b"second version\n")

    deliver_sftp(target, artifact, _naming())

    assert (folder / "sales_2026-11-20.csv").read_bytes() == b"second version\n"
    assert [p.name for p in folder.iterdir()] == ["sales_2026-11-20.csv"]


def _kill_when_growing(partial_dir: Path, stop) -> threading.Thread:
    """Kill the server as soon as a temporary file in ``partial_dir`` has bytes in it."""

    def watch() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for path in partial_dir.glob(".*.partial") if partial_dir.exists() else ():
                try:
                    if path.stat().st_size > 0:
                        stop()
                        return
                except FileNotFoundError:
                    pass
            time.sleep(0.001)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_sftp_server_killed_mid_upload_leaves_no_final_file_and_a_retry_completes_it(sftp, staging):
    server, folder = sftp
    folder.mkdir()
    os.chown(folder, server.user.pw_uid, server.user.pw_gid)
    artifact = staging(os.urandom(64 * 1024 * 1024), "xlsx")
    target = SftpTarget(type="sftp", conn_id="sftp_reports_it", directory=str(folder))
    watcher = _kill_when_growing(folder, server.stop)
    try:
        with pytest.raises(Exception):  # noqa: B017 - paramiko raises EOFError, SSHException or OSError
            deliver_sftp(target, artifact, _naming())
        watcher.join(5)
        assert server.process is None, "the server was killed during the upload"
        assert not (folder / "sales_2026-11-20.xlsx").exists(), "nothing under the final name"
    finally:
        if server.process is None:
            server.start()

    deliver_sftp(target, artifact, _naming())

    final = folder / "sales_2026-11-20.xlsx"
    assert hashlib.sha256(final.read_bytes()).hexdigest() == artifact["sha256"]
    assert [p.name for p in folder.iterdir()] == [final.name], "the leftover temporary file was removed"


# --- SMB ------------------------------------------------------------------------------------------


@pytest.fixture
def smb(smb_server, monkeypatch, request):
    monkeypatch.setenv("AIRFLOW_CONN_SMB_REPORTS_IT", smb_server.connection())
    return smb_server, request.node.name[:40]


def test_smb_writes_a_temporary_name_and_replaces_the_final_one(smb, staging):
    server, directory = smb
    target = SmbTarget(type="smb", conn_id="smb_reports_it", share="reports", directory=f"{directory}/daily")
    deliver_smb(target, staging(b"old content that is longer\n"), _naming())
    artifact = staging(os.urandom(200_000), "pdf")

    outcome = deliver_smb(target, artifact, _naming())

    folder = server.share_path / directory / "daily"
    final = folder / "sales_2026-11-20.pdf"
    assert outcome == {
        "location": f"smb://127.0.0.1/reports/{directory}/daily/sales_2026-11-20.pdf",
        "bytes": 200_000,
        "sha256": artifact["sha256"],
    }
    assert hashlib.sha256(final.read_bytes()).hexdigest() == artifact["sha256"]
    assert sorted(p.name for p in folder.iterdir()) == ["sales_2026-11-20.csv", "sales_2026-11-20.pdf"]
    assert final.stat().st_uid == server.user.pw_uid, "written through Samba as its user"


def test_smb_server_killed_mid_upload_leaves_no_final_file_and_a_retry_completes_it(smb, staging):
    server, directory = smb
    artifact = staging(os.urandom(64 * 1024 * 1024), "xlsx")
    target = SmbTarget(type="smb", conn_id="smb_reports_it", share="reports", directory=directory)
    folder = server.share_path / directory
    watcher = _kill_when_growing(folder, server.stop)
    try:
        with pytest.raises(Exception):  # noqa: B017 - smbprotocol raises several connection errors
            deliver_smb(target, artifact, _naming())
        watcher.join(5)
        assert server.process is None, "the server was killed during the upload"
        assert not (folder / "sales_2026-11-20.xlsx").exists(), "nothing under the final name"
    finally:
        if server.process is None:
            server.start()

    deliver_smb(target, artifact, _naming())

    final = folder / "sales_2026-11-20.xlsx"
    assert hashlib.sha256(final.read_bytes()).hexdigest() == artifact["sha256"]
    assert [p.name for p in folder.iterdir()] == [final.name]


# --- e-mail ---------------------------------------------------------------------------------------


@pytest.fixture
def smtp(smtp_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_REPORTS_IT", smtp_server.connection())
    smtp_server.clear()
    return smtp_server


def test_email_attaches_every_file_and_bcc_stays_out_of_the_headers(smtp, staging):
    pdf, csv = staging(os.urandom(50_000), "pdf"), staging(b"a,b\n1,2\n", "csv")
    target = EmailTarget(
        type="email",
        conn_id="smtp_reports_it",
        to=["cfo@example.com"],
        cc=["fd@example.com"],
        bcc=["audit@example.com"],
        subject="{title} {params[region]} {run_date}",
    )

    outcomes = deliver_email(target, [pdf, csv], _naming(), "finance_mail")

    [received] = smtp.messages()
    message = received["message"]
    assert sorted(received["rcpt_tos"]) == ["audit@example.com", "cfo@example.com", "fd@example.com"]
    assert message["Subject"] == "Sales EMEA 2026-11-20"
    assert message["To"] == "cfo@example.com" and message["Cc"] == "fd@example.com"
    assert message["Bcc"] is None
    assert message["X-Report-Request-Id"] == "req-1" and message["X-Report-Target"] == "finance_mail"
    files = attachments(message)
    assert files == {
        "sales_2026-11-20.pdf": Path(pdf["uri"].removeprefix("file://")).read_bytes(),
        "sales_2026-11-20.csv": b"a,b\n1,2\n",
    }
    assert hashlib.sha256(files["sales_2026-11-20.pdf"]).hexdigest() == pdf["sha256"]
    assert [o["sha256"] for o in outcomes] == [pdf["sha256"], csv["sha256"]]


def test_email_above_the_size_limit_sends_a_presigned_s3_link(smtp, s3, s3_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AWS_STAGING_IT", s3_server.connection())
    data = os.urandom(40_000)
    # Staged in S3 as production does (``s3://<conn id>@bucket/key``), written straight to the server.
    s3.put_object(Bucket=BUCKET, Key="staging/sales/req-1/sales_2026-11-20.pdf", Body=data)
    uri = f"s3://aws_staging_it@{BUCKET}/staging/sales/req-1/sales_2026-11-20.pdf"
    artifact = {
        "format": "pdf",
        "file_name": "sales_2026-11-20.pdf",
        "uri": uri,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    target = EmailTarget(type="email", conn_id="smtp_reports_it", to=["cfo@example.com"], max_attachment_bytes=10_000)

    deliver_email(target, [artifact], _naming(), "mail")

    [received] = smtp.messages()
    assert attachments(received["message"]) == {}
    html = received["message"].get_body(("html",)).get_content()
    url = html.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert url.startswith(s3_server.endpoint + f"/{BUCKET}/staging/") and "Signature=" in url
    with urllib.request.urlopen(url) as response:
        assert response.read() == data


def test_email_header_injection_through_a_parameter_is_refused_before_sending(smtp, staging):
    target = EmailTarget(
        type="email", conn_id="smtp_reports_it", to=["cfo@example.com"], subject="{title} {params[region]}"
    )

    with pytest.raises(TemplateError, match="header injection"):
        deliver_email(target, [staging(b"x")], _naming(region="EMEA\r\nBcc: spy@evil.test"), "mail")

    assert smtp.messages() == []


# --- two requests, one name, at the same moment ---------------------------------------------------


@pytest.mark.parametrize("policy", ["unique", "fail", "replace"])
def test_two_requests_uploading_one_sftp_name_at_once_never_overwrite_silently(
    sftp, staging, tmp_path, monkeypatch, policy
):
    from hooks.request_store import Actor, RequestStoreHook
    from operators import distribute
    from operators.distribute import DeliveryConflict, DistributeOperator
    from reporting.definition import ReportDefinition

    monkeypatch.setenv(
        "AIRFLOW_CONN_REPORTING_REQUEST_STORE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "r.db")})
    )
    monkeypatch.setattr(distribute, "hold_if_paused", lambda context, request_id: None)
    monkeypatch.setattr(distribute, "actor", lambda context: Actor("DISTRIBUTOR", "run", "distribute", 1))
    monkeypatch.setattr(distribute, "CLAIM_POLL_SECONDS", 0.05)
    store = RequestStoreHook()
    store.apply_schema()
    _, folder = sftp
    directory = folder / policy
    definition = ReportDefinition.model_validate(
        {
            "id": "sales",
            "title": "Sales",
            "owner": "bi",
            "engine": {"type": "sql", "conn_id": "warehouse", "sql": "sales.sql"},
            "formats": ["pdf"],
            "distribution": [
                {
                    "type": "sftp",
                    "name": "partner",
                    "conn_id": "sftp_reports_it",
                    "directory": str(directory),
                    "on_conflict": policy,
                }
            ],
        }
    )
    upload = distribute.DELIVERERS["sftp"]
    both_looked = threading.Barrier(2)

    def overlapping_upload(*args):
        # Each upload starts once both requests have claimed, so the two really overlap on the server.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_looked.wait(timeout=1)
        return upload(*args)

    monkeypatch.setitem(distribute.DELIVERERS, "sftp", overlapping_upload)
    operators = {
        request_id: DistributeOperator(
            task_id=f"distribute_{request_id}",
            definition=definition,
            request={"request_id": request_id, "run_date": "2026-11-20", "parameters": {}},
            artifacts=[staging(os.urandom(2_000_000), "pdf", name=f"{request_id}.pdf")],
            target={"key": "partner", "spec": definition.distribution[0].model_dump(mode="json")},
        )
        for request_id in ("req-a", "req-b")
    }
    results = execute_together(operators, timeout=60)

    delivered = {r: o for r, o in results.items() if isinstance(o, dict)}
    names = sorted(p.name for p in directory.iterdir())
    if policy == "unique":
        assert len(delivered) == 2 and len(names) == 2 and "sales_2026-11-20.pdf" in names, results
    elif policy == "fail":
        [refused] = [o for o in results.values() if isinstance(o, Exception)]
        assert isinstance(refused, DeliveryConflict) and len(delivered) == 1, results
        assert names == ["sales_2026-11-20.pdf"]
    else:
        assert len(delivered) == 2 and names == ["sales_2026-11-20.pdf"], results
    for request_id in operators:
        trail = store.trail(request_id)
        replaced = {e["details"]["location"] for e in trail["events"] if "replaced_by" in (e["details"] or {})}
        for delivery in trail["deliveries"]:
            path = Path(delivery["remote_location"].removeprefix("sftp://127.0.0.1"))
            matches = hashlib.sha256(path.read_bytes()).hexdigest() == delivery["sha256"]
            assert matches or delivery["remote_location"] in replaced, f"{request_id}: {path} changed unannounced"
    if policy == "replace":
        assert [
            r for r in operators if any("replaced_by" in (e["details"] or {}) for e in store.trail(r)["events"])
        ] != [], "the earlier request's trail says its file was replaced"
