"""The run-note listener: the claim's note goes at the head of the run's note, once, and it never raises."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from report_listeners import run_notes


@pytest.fixture
def claim_note(monkeypatch):
    notes: dict[str, str | None] = {"text": "Refused: priority: must be an integer"}
    monkeypatch.setattr(run_notes, "object_session", lambda run: object())
    monkeypatch.setattr(run_notes, "_claim_note", lambda session, dag_id, run_id: notes["text"])
    return notes


def _run(dag_id: str = "report__sales_summary", note: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(dag_id=dag_id, run_id="manual__1", note=note)


def test_the_claims_note_becomes_the_runs_note(claim_note):
    run = _run()
    assert run_notes.write_note(run) == "Refused: priority: must be an integer"
    assert run.note == "Refused: priority: must be an integer"
    assert run_notes.write_note(run) is None, "written once"


def test_a_callers_note_is_kept_after_it_within_airflows_bound(claim_note):
    run = _run(note="from the caller " + "x" * 2_000)
    run_notes.write_note(run)
    assert run.note.startswith("Refused: priority: must be an integer\nfrom the caller ")
    assert len(run.note) == 1_000


def test_other_dags_and_runs_without_a_note_are_left_alone(claim_note):
    other = _run(dag_id="reporting_request_intake")
    assert run_notes.write_note(other) is None and other.note is None
    claim_note["text"] = None
    run = _run()
    assert run_notes.write_note(run) is None and run.note is None


def test_it_never_raises(monkeypatch):
    def broken(session, dag_id, run_id):
        raise RuntimeError("metadata database gone")

    monkeypatch.setattr(run_notes, "object_session", lambda run: object())
    monkeypatch.setattr(run_notes, "_claim_note", broken)
    assert run_notes.write_note(_run()) is None
    assert run_notes.on_dag_run_failed(_run(), "task_failure") is None
