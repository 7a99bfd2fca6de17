"""Delivery conflicts: the unique names a target tries, and what each policy does with a held location."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from reporting.conflicts import (
    MAX_COMPONENT_BYTES,
    MAX_UNIQUE_NAMES,
    Action,
    Holder,
    OnConflict,
    candidates,
    decide,
    location_key,
    request_tag,
    unique_key,
    unique_name,
)
from reporting.definition import EmailTarget, LocalTarget, S3Target, SftpTarget, SmbTarget


def test_the_tag_is_short_fixed_and_the_same_for_the_same_request():
    assert request_tag("REQ-2026-0042") == request_tag("REQ-2026-0042")
    assert len(request_tag("x" * 64)) == 8 and request_tag("a") != request_tag("b")


def test_the_unique_name_puts_the_tag_before_the_extension():
    tag = request_tag("req-b")

    assert unique_name("sales_EMEA_2026-11-23.csv", "req-b") == f"sales_EMEA_2026-11-23__{tag}.csv"
    assert unique_name("sales_EMEA_2026-11-23.csv", "req-b", 3) == f"sales_EMEA_2026-11-23__{tag}_3.csv"
    assert unique_name("README", "req-b") == f"README__{tag}"
    assert unique_name(".hidden", "req-b") == f".hidden__{tag}"


def test_a_long_name_is_shortened_before_the_tag_to_fit_255_bytes():
    name = "é" * 200 + ".xlsx"  # 405 bytes of stem

    tagged = unique_name(name, "req-b", 7)

    assert len(tagged.encode("utf-8")) <= MAX_COMPONENT_BYTES
    assert tagged.endswith(f"__{request_tag('req-b')}_7.xlsx")
    assert tagged.startswith("é" * 10), "cut on a character boundary"


def test_an_object_key_gets_the_tag_in_its_last_segment_only():
    tag = request_tag("req-b")

    assert unique_key("daily/2026.11/EMEA/sales.pdf", "req-b") == f"daily/2026.11/EMEA/sales__{tag}.pdf"
    assert unique_key("sales.pdf", "req-b") == f"sales__{tag}.pdf"


def test_only_unique_tries_other_names():
    assert list(candidates("a.csv", "r", OnConflict.FAIL)) == ["a.csv"]
    assert list(candidates("a.csv", "r", OnConflict.REPLACE)) == ["a.csv"]
    names = list(candidates("a.csv", "r", OnConflict.UNIQUE))
    assert names[0] == "a.csv" and len(names) == 1 + MAX_UNIQUE_NAMES and len(set(names)) == len(names)
    assert list(candidates("x/a.csv", "r", OnConflict.UNIQUE, key=True))[1] == f"x/a__{request_tag('r')}.csv"


@pytest.mark.parametrize("policy", list(OnConflict))
def test_a_location_the_request_holds_itself_is_written_again_under_every_policy(policy):
    for delivered in (True, False):
        assert decide(Holder("req-a", delivered, expired=False), "req-a", policy) is Action.WRITE


@pytest.mark.parametrize(
    ("policy", "delivered", "expired", "action"),
    [
        (OnConflict.UNIQUE, True, False, Action.NEXT),
        (OnConflict.UNIQUE, False, False, Action.NEXT),
        (OnConflict.FAIL, True, False, Action.FAIL),
        (OnConflict.FAIL, False, False, Action.FAIL),
        (OnConflict.REPLACE, True, False, Action.TAKE_OVER),
        (OnConflict.REPLACE, False, False, Action.WAIT),
        # A try that died before recording anything leaves a name nobody's checksum stands for.
        (OnConflict.UNIQUE, False, True, Action.TAKE_OVER),
        (OnConflict.FAIL, False, True, Action.TAKE_OVER),
        (OnConflict.REPLACE, False, True, Action.TAKE_OVER),
        # A recorded delivery never expires.
        (OnConflict.FAIL, True, True, Action.FAIL),
    ],
)
def test_what_each_policy_does_with_another_requests_location(policy, delivered, expired, action):
    assert decide(Holder("req-a", delivered, expired), "req-b", policy) is action


def test_location_keys_are_fixed_length_and_smb_ignores_case():
    assert location_key("smb", "smb://nas/reports/Sales.csv") == location_key("smb", "smb://nas/reports/sales.csv")
    assert location_key("local", "/nas/Sales.csv") != location_key("local", "/nas/sales.csv")
    assert len(location_key("s3", "s3://b/" + "k" * 1900)) == 64


@pytest.mark.parametrize(
    "target",
    [
        {"type": "local", "path": "/nas"},
        {"type": "s3", "bucket": "reports"},
        {"type": "sftp", "directory": "/upload"},
        {"type": "smb", "share": "reports"},
    ],
)
def test_every_file_target_defaults_to_unique_and_refuses_an_unknown_policy(target):
    model = {"local": LocalTarget, "s3": S3Target, "sftp": SftpTarget, "smb": SmbTarget}[target["type"]]

    assert model.model_validate(target).on_conflict is OnConflict.UNIQUE
    assert model.model_validate({**target, "on_conflict": "replace"}).model_dump(mode="json")["on_conflict"] == (
        "replace"
    )
    with pytest.raises(ValidationError, match="on_conflict"):
        model.model_validate({**target, "on_conflict": "overwrite"})


def test_email_has_no_location_and_no_on_conflict():
    with pytest.raises(ValidationError, match="on_conflict"):
        EmailTarget.model_validate({"type": "email", "to": ["a@example.com"], "on_conflict": "fail"})
