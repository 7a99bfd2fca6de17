"""Target models (s3, sftp, smb, email), key/header rendering, and per-request distribution overrides."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from reporting.definition import EmailTarget, ReportDefinition, S3Target
from reporting.loader import load_definitions
from reporting.naming import NamingContext, TemplateError, render_header, render_key, render_text
from reporting.run_targets import InvalidDistribution, check_rendering, resolve_targets

BASE: dict[str, Any] = {
    "id": "finance",
    "title": "Finance",
    "owner": "bi",
    "engine": {"type": "sql", "conn_id": "warehouse", "sql": "finance.sql"},
    "parameters": {"region": {"type": "string", "default": "ALL"}},
    "formats": ["csv", "pdf"],
    "distribution": [
        {
            "type": "s3",
            "name": "lake",
            "conn_id": "aws_reports",
            "bucket": "reports-bucket",
            "key": "finance/{run_date}/{params[region]}/{report_id}.{format}",
        },
        {"type": "sftp", "name": "partner", "conn_id": "partner_sftp", "directory": "/upload/finance"},
        {"type": "smb", "name": "nas", "conn_id": "nas_smb", "share": "reports", "directory": "finance/daily"},
        {
            "type": "email",
            "name": "mail",
            "conn_id": "smtp_reports",
            "to": ["cfo@example.com"],
            "subject": "{title} {params[region]} {run_date}",
            "formats": ["pdf"],
        },
    ],
    "distribution_overrides": {
        "allowed_types": ["email", "s3", "local"],
        "allow_replace": True,
        "allowed_conn_ids": ["smtp_reports", "aws_reports"],
        "allowed_email_domains": ["example.com"],
        "allowed_paths": ["/mnt/nas/adhoc"],
    },
}


def _naming(**params: Any) -> NamingContext:
    return NamingContext("finance", "2026-11-20", "req-1", "Finance", params or {"region": "EMEA"})


def _load_errors(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    (tmp_path / "finance.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = load_definitions(tmp_path)
    return [line.split(": ", 1)[1] for line in result.error_text().splitlines()]


def _with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    node: Any = data
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return data


def test_all_target_types_load_with_their_keys():
    definition = ReportDefinition.model_validate(BASE)
    assert [definition.target_key(i) for i in range(4)] == ["lake", "partner", "nas", "mail"]
    assert [t.type for t in definition.distribution] == ["s3", "sftp", "smb", "email"]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("distribution.0.bucket", "Bad_Bucket", "distribution[0].bucket: is not a valid S3 bucket name"),
        (
            "distribution.0.key",
            "/abs/{format}",
            "distribution[0].key: template '/abs/{format}' renders to an unsafe key",
        ),
        (
            "distribution.0.key",
            "a/../{format}",
            "distribution[0].key: template 'a/../{format}' renders to an unsafe key",
        ),
        (
            "distribution.0.key",
            "a/{secret}",
            "distribution[0].key: template 'a/{secret}': '{secret}' at character 3: unknown field {secret}",
        ),
        ("distribution.1.directory", "upload", "distribution[1].directory: must be an absolute directory path"),
        ("distribution.1.directory", "/upload/../etc", "distribution[1].directory: must not contain '..'"),
        (
            "distribution.1.filename",
            "../{format}",
            "distribution[1].filename: template '../{format}' renders to an unsafe file name",
        ),
        ("distribution.2.directory", "/abs", "distribution[2].directory: must be relative to the share"),
        ("distribution.2.directory", "a/\x00b", "distribution[2].directory: must not contain control characters"),
        (
            "distribution.3.to",
            ["cfo@example.com\r\nBcc: x@evil.test"],
            "distribution[3].to[0]: 'cfo@example.com\\r\\nBcc: x@evil.test' is not an e-mail address: it contains"
            " control or direction-changing characters (U+000A, U+000D)",
        ),
        (
            "distribution.3.subject",
            "Report\r\nBcc: x@evil.test",
            "distribution[3].subject: template 'Report\\r\\nBcc: x@evil.test' renders to a header"
            " with control characters",
        ),
        ("distribution.3.formats", ["xlsx"], "distribution[3].formats: 'xlsx' is not among the report's formats"),
        ("distribution.3.link_expiry", "30d", "distribution[3].link_expiry: must be between 1 minute and 7 days"),
        (
            "distribution_overrides.allowed_types",
            ["ftp"],
            "distribution_overrides.allowed_types[0]: input should be 'local', 's3', 'sftp', 'smb' or 'email'",
        ),
    ],
)
def test_bad_targets_are_refused_naming_the_field(tmp_path, path, value, expected):
    errors = _load_errors(tmp_path, _with(path, value))
    assert any(line.startswith(expected) for line in errors), errors


def test_key_values_are_sanitised_per_segment():
    key = render_key("finance/{params[region]}/{report_id}.{format}", _naming(region="../../etc/passwd"), "csv")
    assert key == "finance/_._etc_passwd/finance.csv"
    assert ".." not in key.split("/")


def test_header_refuses_injected_values_and_body_escapes_them():
    with pytest.raises(TemplateError, match="header injection"):
        render_header("{title} {params[region]}", _naming(region="EMEA\r\nBcc: spy@evil.test"), "pdf")
    assert render_header("{title} {params[region]}", _naming(region="EMEA / Q3"), "pdf") == "Finance EMEA / Q3"
    assert render_text("<p>{params[region]}</p>", _naming(region="<script>"), "pdf") == "<p>&lt;script&gt;</p>"


def test_without_overrides_the_run_uses_the_definitions_targets():
    definition = ReportDefinition.model_validate(BASE)
    targets = resolve_targets(definition, None)
    assert [(t["key"], t["index"], t["origin"]) for t in targets] == [
        ("lake", 0, "definition"),
        ("partner", 1, "definition"),
        ("nas", 2, "definition"),
        ("mail", 3, "definition"),
    ]
    assert S3Target.model_validate(targets[0]["spec"]).bucket == "reports-bucket"


def test_an_allowed_override_adds_a_target():
    definition = ReportDefinition.model_validate(BASE)
    extra = {"type": "email", "conn_id": "smtp_reports", "to": ["ops@example.com"]}
    targets = resolve_targets(definition, [extra])
    assert [t["key"] for t in targets] == ["lake", "partner", "nas", "mail", "request_email_0"]
    assert EmailTarget.model_validate(targets[-1]["spec"]).to == ["ops@example.com"]


def test_an_allowed_override_replaces_the_targets():
    definition = ReportDefinition.model_validate(BASE)
    replacement = {"type": "local", "name": "adhoc", "path": "/mnt/nas/adhoc/q3"}
    targets = resolve_targets(definition, {"mode": "replace", "targets": [replacement]})
    assert [(t["key"], t["origin"]) for t in targets] == [("adhoc", "request")]


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        (
            [{"type": "sftp", "conn_id": "smtp_reports", "directory": "/x"}],
            "distribution.targets[0].type: 'sftp' is not allowed",
        ),
        (
            [{"type": "s3", "conn_id": "other_aws", "bucket": "reports-bucket"}],
            "distribution.targets[0].conn_id: 'other_aws' is not an allowed connection",
        ),
        (
            [{"type": "email", "conn_id": "smtp_reports", "to": ["leak@evil.test"]}],
            "distribution.targets[0].to: 'leak@evil.test' is outside the allowed domains",
        ),
        (
            [{"type": "local", "path": "/mnt/nas/adhoc/../../etc"}],
            "distribution.targets[0].path: must not contain '..'",
        ),
        (
            [{"type": "local", "path": "/etc/cron.d"}],
            "distribution.targets[0].path: '/etc/cron.d' is not under an allowed path",
        ),
        (
            [{"type": "s3", "conn_id": "aws_reports", "bucket": "reports-bucket", "key": "../{format}"}],
            "distribution.targets[0].key: template '../{format}' renders to an unsafe key",
        ),
        (
            [{"type": "email", "conn_id": "smtp_reports", "to": ["a@example.com"], "subject": "x\nBcc: b@evil.test"}],
            "distribution.targets[0].subject: template 'x\\nBcc: b@evil.test' renders to a header"
            " with control characters",
        ),
        (
            [{"type": "email", "conn_id": "smtp_reports", "to": ["a@example.com"], "headers": {"Bcc": "b@evil.test"}}],
            "distribution.targets[0].headers: extra inputs are not permitted",
        ),
        (
            [{"type": "email", "name": "mail", "conn_id": "smtp_reports", "to": ["a@example.com"]}],
            "distribution.targets[0].name: 'mail' is already a target of this run",
        ),
        (
            [{"type": "local", "path": "/mnt/nas/adhoc", "on_conflict": "replace"}],
            "distribution.targets[0].on_conflict: 'replace' is not allowed on a request's own target",
        ),
        ({"mode": "merge", "targets": []}, "distribution.mode: 'merge' is neither 'add' nor 'replace'"),
        ("s3://bucket", "distribution: must be a list of targets or {mode, targets}"),
    ],
)
def test_overrides_outside_the_policy_are_refused(override, problem):
    definition = ReportDefinition.model_validate(BASE)
    with pytest.raises(InvalidDistribution) as refused:
        resolve_targets(definition, override)
    assert any(p.startswith(problem) for p in refused.value.problems), refused.value.problems


def test_a_report_without_a_policy_refuses_every_override():
    data = copy.deepcopy(BASE)
    del data["distribution_overrides"]
    definition = ReportDefinition.model_validate(data)
    with pytest.raises(InvalidDistribution, match="does not allow per-request distribution"):
        resolve_targets(definition, [{"type": "email", "conn_id": "smtp_reports", "to": ["a@example.com"]}])


def test_replace_needs_permission():
    data = _with("distribution_overrides.allow_replace", False)
    definition = ReportDefinition.model_validate(data)
    with pytest.raises(InvalidDistribution, match="does not allow replacing its targets"):
        resolve_targets(definition, {"mode": "replace", "targets": [{"type": "local", "path": "/mnt/nas/adhoc"}]})


def test_rendering_check_catches_injection_through_a_parameter_value():
    definition = ReportDefinition.model_validate(BASE)
    targets = resolve_targets(definition, None)
    check_rendering(definition, targets, _naming(region="EMEA"))
    with pytest.raises(InvalidDistribution, match=r"target 'mail'.subject: .*header injection"):
        check_rendering(definition, targets, _naming(region="EMEA\r\nBcc: spy@evil.test"))


def test_rendering_check_bounds_a_free_form_value_naming_the_target_field():
    definition = ReportDefinition.model_validate(BASE)
    targets = resolve_targets(definition, None)
    with pytest.raises(InvalidDistribution) as caught:
        check_rendering(definition, targets, _naming(region="x" * 300))
    assert caught.value.problems[0].startswith(
        "target 'lake'.key: template 'finance/{run_date}/{params[region]}/{report_id}.{format}' renders to a key"
        " segment of 300 bytes"
    )


def test_a_request_template_is_bounded_with_the_definitions_own_values():
    data = _with("parameters", {"region": {"allowed_values": ["EMEA", "r" * 245]}})
    definition = ReportDefinition.model_validate(data)
    added = {"type": "email", "conn_id": "smtp_reports", "to": ["a@example.com"], "subject": "{params[region]}"}
    assert resolve_targets(definition, [added])
    added = {"type": "s3", "conn_id": "aws_reports", "bucket": "reports-bucket", "key": "{params[region]}_{run_date}"}
    with pytest.raises(InvalidDistribution, match=r"distribution.targets\[0\].key: .* can render the key segment"):
        resolve_targets(definition, [added])
