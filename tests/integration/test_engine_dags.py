"""Each BI engine's report DAG, built by dags/report_factory.py, run end to end with ``dag.test()`` on its fake server.

The fake servers follow each engine's published API and serve real documents. Power BI and
MIDAS defer; ``dag.test()`` runs their trigger inline, so the wait that happens in the
triggerer in production happens here too, between the task's start and its resumption.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import openpyxl
import pytest
import yaml
from pypdf import PdfReader

from fake_engines import bi_publisher as bip_fake
from fake_engines import midas as midas_fake
from fake_engines import power_bi as pbi_fake
from fake_engines import ssrs as ssrs_fake
from fake_engines.harness import set_connection
from fake_engines.server import FakeServer, Request
from hooks.request_store import RequestStoreHook
from report_runtime.sending_gate import SEND_REPORTS_VARIABLE
from support.runs import ROOT, moves, request_of, task_states, test_run

COMPLETED = [
    (None, "PENDING"),
    ("PENDING", "IN_PROGRESS"),
    ("IN_PROGRESS", "GENERATED"),
    ("GENERATED", "DISTRIBUTED"),
    ("DISTRIBUTED", "COMPLETED"),
]
FAILED = [(None, "PENDING"), ("PENDING", "IN_PROGRESS"), ("IN_PROGRESS", "FAILED")]
RUN_DATE = "2026-11-20"  # the date of support.runs.RUN_AFTER
# Retries are allowed but quick, so a test shows in seconds that a retry did (or did not) happen.
QUICK_RETRY = {"retries": 2, "retry_delay": "1s", "backoff_multiplier": 0}
ENGINES = ["obiee", "powerbi", "ssrs", "midas"]


@dataclass
class Fake:
    """A started fake engine and what the tests read from it.

    :param engine: the engine's type, as its error messages name it.
    :param report_id: the sample definition (include/reports) that the server serves.
    :param conf: the run's conf: the report's parameters, as the trigger form sends them.
    :param server: the running server.
    :param secrets: the credentials the engine's connection holds.
    :param start: a piece of the path of the call that starts one format's work (for scripted faults).
    :param is_start: whether a request is such a call.
    :param document: the (format, bytes) of a document the server answered with, or None.
    :param unknown_report: an engine-block change that names a report the server does not know.
    :param title: the title the server prints in its PDFs.
    :param region_param: the engine's name for the report's region parameter.
    :param state: the server's own state, for the engines that keep one.
    :param trigger: the trigger class a deferring engine waits in.
    :param export_id: the export (job) id that a start call's answer carried, for a deferring engine.
    """

    engine: str
    report_id: str
    conf: dict[str, str]
    server: FakeServer
    secrets: tuple[str, ...]
    start: str
    is_start: Callable[[Request], bool]
    document: Callable[[Request], tuple[str, bytes] | None]
    unknown_report: dict[str, str]
    title: str
    region_param: str
    state: Any = None
    trigger: str | None = None
    export_id: Callable[[Request], str] | None = None

    def starts(self) -> list[Request]:
        """The calls that started work, in order."""
        return [r for r in self.server.requests if self.is_start(r)]

    def documents(self) -> dict[str, bytes]:
        """The documents the server served, by format."""
        return dict(found for r in self.server.requests if (found := self.document(r)) is not None)

    def credentials(self) -> list[str]:
        """The connection's credentials and every token the server issued."""
        return [*self.secrets, *getattr(self.state, "tokens", ())]


def _ok(request: Request) -> bool:
    return request.response is not None and request.response.status == 200


def _download(suffix: str, format_of: Callable[[str], str]) -> Callable[[Request], tuple[str, bytes] | None]:
    """Reads the document off a successful ``.../<export id><suffix>`` download; ``format_of`` maps the export id."""

    def document(r: Request) -> tuple[str, bytes] | None:
        return (format_of(r.path.split("/")[-2]), r.response.body) if r.path.endswith(suffix) and _ok(r) else None

    return document


def _conf(date_param: str = "as_of") -> dict[str, str]:
    return {"region": "APAC", date_param: "2026-10-31"}


@pytest.fixture
def obiee(monkeypatch) -> Iterator[Fake]:
    """BI Publisher's REST API, with the sample report's connection pointed at it."""

    def document(r: Request) -> tuple[str, bytes] | None:
        if r.path.endswith("/run") and _ok(r):
            return bip_fake.report_request_of(r)["attributeFormat"], bip_fake.report_output_of(r.response)
        return None

    with bip_fake.server() as srv:
        set_connection(
            monkeypatch,
            "bi_publisher_default",
            conn_type="bi_publisher",
            host=srv.url,
            login=bip_fake.USER,
            password=bip_fake.PASSWORD,
        )
        yield Fake(
            engine="obiee",
            report_id="obiee_sales_detail",
            conf=_conf(),
            server=srv,
            secrets=(bip_fake.PASSWORD,),
            start="/run",
            is_start=lambda r: r.method == "POST" and r.path.endswith("/run"),
            document=document,
            unknown_report={"report_path": "/Finance/Missing.xdo"},
            title="Sales detail",
            region_param="P_REGION",
        )


@pytest.fixture
def powerbi(monkeypatch) -> Iterator[Fake]:
    """Azure AD's token endpoint and Power BI's Export To File API."""
    state = pbi_fake.PowerBiState()
    with pbi_fake.server(state) as srv:
        set_connection(
            monkeypatch,
            "powerbi_default",
            conn_type="powerbi",
            login=pbi_fake.CLIENT_ID,
            password=pbi_fake.CLIENT_SECRET,
            extra={"tenant_id": pbi_fake.TENANT, "authority": srv.url, "api_url": srv.url},
        )
        yield Fake(
            engine="powerbi",
            report_id="powerbi_finance_pack",
            conf=_conf("period_end"),
            server=srv,
            secrets=(pbi_fake.CLIENT_SECRET,),
            start="/ExportTo",
            is_start=lambda r: r.method == "POST" and r.path.endswith("/ExportTo"),
            document=_download("/file", lambda export_id: pbi_fake.FORMATS[state.exports[export_id]["format"]]),
            unknown_report={"report_id": "00000000-0000-4000-8000-000000000000"},
            title="Power BI report",
            region_param="Region",
            state=state,
            trigger="triggers.power_bi.PowerBiExportTrigger",
            export_id=lambda r: json.loads(r.response.body)["id"],
        )


@pytest.fixture
def ssrs(monkeypatch, tmp_path) -> Iterator[Fake]:
    """An SSRS report server speaking URL access behind NTLM."""
    formats = {name: fmt for name, (fmt, _) in ssrs_fake.FORMATS.items()}

    def document(r: Request) -> tuple[str, bytes] | None:
        return (formats[r.params["rs:Format"]], r.response.body) if r.user and _ok(r) else None

    monkeypatch.setenv("NTLM_USER_FILE", ssrs_fake.user_file(tmp_path))
    with ssrs_fake.server("ntlm") as srv:
        set_connection(
            monkeypatch,
            "ssrs_default",
            conn_type="ssrs",
            host=srv.url,
            login=f"{ssrs_fake.DOMAIN}\\{ssrs_fake.USER}",
            password=ssrs_fake.PASSWORD,
        )
        # A scripted fault lands on the first request of a rendering: NTLM's anonymous try.
        yield Fake(
            engine="ssrs",
            report_id="ssrs_inventory",
            conf=_conf(),
            server=srv,
            secrets=(ssrs_fake.PASSWORD,),
            start="rs:Format=",
            is_start=lambda r: r.path == "/ReportServer" and r.user is not None,
            document=document,
            unknown_report={"report_path": "/Finance/Nope"},
            title="Inventory",
            region_param="Region",
        )


@pytest.fixture
def midas(monkeypatch) -> Iterator[Fake]:
    """MIDAS's job API (plugins/hooks/MIDAS_API.md)."""
    state = midas_fake.MidasState()
    with midas_fake.server(state) as srv:
        set_connection(monkeypatch, "midas_default", conn_type="midas", host=srv.url, password=midas_fake.API_KEY)
        yield Fake(
            engine="midas",
            report_id="midas_risk_positions",
            conf=_conf(),
            server=srv,
            secrets=(midas_fake.API_KEY,),
            start="/api/v1/jobs",
            is_start=lambda r: r.method == "POST" and r.path == "/api/v1/jobs",
            document=_download("/result", lambda job_id: state.jobs[job_id]["format"]),
            unknown_report={"report": "no_such_report"},
            title="Risk positions",
            region_param="region",
            state=state,
            trigger="triggers.midas.MidasJobTrigger",
            export_id=lambda r: json.loads(r.response.body)["job_id"],
        )


def changed_dag(factory, folder: Path, monkeypatch, report_id: str, engine: dict | None = None, **fields: Any):
    """The DAG of a sample definition copied into ``folder`` with some fields changed; the factory reads that folder.

    :param factory: dags/report_factory.py.
    :param folder: the definitions folder to create.
    :param report_id: the sample definition to copy.
    :param engine: fields of the engine block to change.
    :param fields: top-level fields to change.
    """
    data = yaml.safe_load((ROOT / "include" / "reports" / f"{report_id}.yaml").read_text())
    data["engine"].update(engine or {})
    data.update(fields)
    folder.mkdir()
    (folder / f"{report_id}.yaml").write_text(yaml.safe_dump(data))
    # dag.test() parses dags/ again to record the DAG's version: it must find this definition too.
    monkeypatch.setenv("REPORTING_DEFINITIONS_DIR", str(folder))
    return factory.build_all()[f"report__{report_id}"]


def check_completed(run, fake: Fake, out: Path) -> dict[str, Path]:
    """Assert the run succeeded, its request reached COMPLETED, and the target holds exactly what the engine served.

    :param run: the DAG run.
    :param fake: the engine.
    :param out: the output folder (``REPORTING_OUTPUT_DIR``).
    """
    assert str(run.state) == "success", task_states(run)
    trail = RequestStoreHook().trail(request_of(run))
    assert moves(trail) == COMPLETED
    assert trail["request"]["status"] == "COMPLETED" and trail["errors"] == []
    served = fake.documents()
    paths = list((out / fake.report_id).iterdir())
    files = {p.suffix.lstrip("."): p for p in paths}
    assert len(files) == len(paths), sorted(p.name for p in paths)
    assert {fmt: p.read_bytes() for fmt, p in files.items()} == served, "the bytes the engine sent, nothing else"
    checksums = sorted(hashlib.sha256(data).hexdigest() for data in served.values())
    assert sorted(d["sha256"] for d in trail["deliveries"]) == checksums
    return files


def check_documents(files: dict[str, Path], fake: Fake) -> None:
    """Assert each file opens as a real document of its format and shows the region the run asked for.

    :param files: delivered files by format.
    :param fake: the engine that made them.
    """
    if "pdf" in files:
        text = PdfReader(files["pdf"]).pages[0].extract_text()
        assert fake.title in text and f"{fake.region_param}=APAC" in text
    if "xlsx" in files:
        sheet = openpyxl.load_workbook(files["xlsx"]).active
        assert [c.value for c in sheet[1]] == ["region", "product", "units"] and sheet["A2"].value == "APAC"
    if "csv" in files:
        rows = list(csv.reader(io.StringIO(files["csv"].read_text())))
        assert rows[0] == ["region", "product", "units"] and rows[1] == ["APAC", "product-1", "10"]


def run_sample(fake: Fake, factory, out: Path) -> tuple[Any, dict[str, Path]]:
    """Run the engine's sample report DAG as include/reports defines it and check what it delivered.

    :param fake: the engine.
    :param factory: dags/report_factory.py.
    :param out: the output folder (``REPORTING_OUTPUT_DIR``).
    :returns: the run and the delivered files by format.
    """
    dag = factory.build_all()[f"report__{fake.report_id}"]
    run = test_run(dag, fake.conf)
    files = check_completed(run, fake, out)
    assert sorted(files) == sorted(dag.task_dict["generate"].definition.formats)
    check_documents(files, fake)
    return run, files


def check_failed_at_once(run, fake: Fake, out: Path) -> dict[str, Any]:
    """Assert generate failed on its first try despite allowed retries, and nothing was delivered; return the error.

    :param run: the DAG run.
    :param fake: the engine.
    :param out: the output folder (``REPORTING_OUTPUT_DIR``).
    """
    from airflow.models import Variable

    assert str(run.state) == "failed"
    states = task_states(run)
    assert states["generate"] == "failed" and states["distribute"] == "upstream_failed", states
    assert _generate(run).try_number == 1 and _earlier_tries(run) == [], "retries were allowed, none was made"
    assert fake.documents() == {} and not (out / fake.report_id).exists(), "nothing is delivered"
    trail = RequestStoreHook().trail(request_of(run))
    assert moves(trail) == FAILED
    recorded = json.dumps(trail, default=str)
    assert [secret for secret in fake.credentials() if secret in recorded] == []
    assert Variable.get(SEND_REPORTS_VARIABLE, default_var=None) is None, "an error no retry can cure leaves sending on"
    [error] = trail["errors"]
    assert (error["component"], error["retry_eligible"], error["retry_count"]) == ("ENGINE", False, 0)
    assert error["message"].startswith(f"{fake.engine}: ") and error["message"].endswith("(not retryable)")
    assert trail["request"]["last_error"].startswith(f"generate: {error['error_class']}: ")
    return error


def _generate(run):
    return next(ti for ti in run.get_task_instances() if ti.task_id == "generate")


def _earlier_tries(run) -> list:
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session
    from sqlalchemy import select

    history = TaskInstanceHistory
    with create_session() as session:
        tries = session.scalars(
            select(history)
            .where(history.dag_id == run.dag_id, history.run_id == run.run_id, history.task_id == "generate")
            .order_by(history.try_number)
        ).all()
        session.expunge_all()
    return tries


def _trigger_of(ti) -> tuple[str, dict]:
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session

    with create_session() as session:
        trigger = session.get(Trigger, ti.trigger_id)
        return trigger.classpath, trigger.kwargs


def check_deferred_and_resumed(run, fake: Fake, try_number: int = 1) -> None:
    """Assert generate deferred to the engine's trigger, which polled until every export was done; the same try resumed.

    :param run: the DAG run.
    :param fake: a deferring engine.
    :param try_number: the try that deferred.
    """
    ti = _generate(run)
    assert (str(ti.state), ti.try_number) == ("success", try_number)
    # The API server records a deferral as a trigger row named by the TI; dag.test() never cleans it up.
    assert ti.trigger_id is not None, "generate never deferred"
    classpath, kwargs = _trigger_of(ti)
    assert classpath == fake.trigger
    started = [fake.export_id(r) for r in fake.starts() if r.response.status == 202]
    assert sorted(kwargs["exports"].values()) == sorted(started)
    assert [s for s in fake.credentials() if s in json.dumps(kwargs)] == [], "the trigger holds ids, not credentials"
    sent = fake.server.requests
    # The trigger polls with httpx (it is async); the operator's own calls use requests.
    polls = [i for i, r in enumerate(sent) if r.method == "GET" and r.headers["user-agent"].startswith("python-httpx")]
    polled = [sent[i].path.rsplit("/", 1)[1] for i in polls]
    assert sorted(polled) == sorted(started * 2), "each export: one 'still running' answer, then one 'done'"
    downloads = [i for i, r in enumerate(sent) if fake.document(r) is not None]
    last_start = max(i for i, r in enumerate(sent) if fake.is_start(r))
    assert last_start < min(polls) and max(polls) < min(downloads), "start, wait in the trigger, then download"


# --- one full run per engine --------------------------------------------------------------------


def test_obiee_report_dag_delivers_what_bi_publisher_served(obiee, factory, report_env):
    _, files = run_sample(obiee, factory, report_env)

    assert sorted(p.name for p in files.values()) == [
        f"obiee_sales_detail_APAC_{RUN_DATE}.{f}" for f in ("csv", "pdf", "xlsx")
    ]
    path = "/xmlpserver/services/rest/v1/reports/%2FFinance%2FSales%20Detail.xdo/run"
    assert [(r.method, r.path) for r in obiee.server.requests] == [("POST", path)] * 3
    basic = "Basic " + base64.b64encode(f"{bip_fake.USER}:{bip_fake.PASSWORD}".encode()).decode()
    assert {r.headers["authorization"] for r in obiee.server.requests} == {basic}
    values = [
        {"name": "P_REGION", "values": {"item": ["APAC"]}},
        {"name": "P_AS_OF", "values": {"item": ["2026-10-31"]}},
    ]
    assert [bip_fake.report_request_of(r) for r in obiee.server.requests] == [
        {
            "attributeFormat": fmt,
            "byPassCache": True,
            "flattenXML": False,
            "attributeTemplate": "Default",
            "parameterNameValues": {"listOfParamNameValues": {"item": values}},
        }
        for fmt in ("pdf", "xlsx", "csv")
    ]


def test_powerbi_report_dag_defers_while_exporting_and_delivers_the_exports(powerbi, factory, report_env):
    run, _ = run_sample(powerbi, factory, report_env)

    check_deferred_and_resumed(run, powerbi)
    report_api = f"/v1.0/myorg/groups/{pbi_fake.GROUP}/reports/{pbi_fake.REPORT}"
    starts = powerbi.starts()
    assert {r.path for r in starts} == {f"{report_api}/ExportTo"}
    values = [{"name": "Region", "value": "APAC"}, {"name": "PeriodEnd", "value": "2026-10-31"}]
    assert [json.loads(r.body) for r in starts] == [
        {"format": fmt, "paginatedReportConfiguration": {"parameterValues": values}} for fmt in ("PDF", "XLSX")
    ]
    token_calls = [r for r in powerbi.server.requests if r.path == f"/{pbi_fake.TENANT}/oauth2/v2.0/token"]
    grant = {
        "grant_type": "client_credentials",
        "client_id": pbi_fake.CLIENT_ID,
        "client_secret": pbi_fake.CLIENT_SECRET,
        "scope": "https://analysis.windows.net/powerbi/api/.default",
    }
    assert token_calls and all(dict(parse_qsl(r.body.decode())) == grant for r in token_calls)
    # one token for starting both exports, one for the trigger's polls, one for both downloads
    assert len(token_calls) == 3, "the formats of one task process share an Azure AD token"
    api_calls = [r for r in powerbi.server.requests if r.path.startswith(report_api)]
    assert all(r.headers["authorization"].removeprefix("Bearer ") in powerbi.state.tokens for r in api_calls)


def test_ssrs_report_dag_delivers_what_the_report_server_rendered(ssrs, factory, report_env):
    run_sample(ssrs, factory, report_env)

    renders = ssrs.starts()
    assert [(r.method, r.query) for r in renders] == [
        ("GET", f"/Finance/Inventory&Region=APAC&AsOf=2026-10-31&rs:Command=Render&rs:Format={name}")
        for name in ("PDF", "EXCELOPENXML", "CSV")
    ]
    assert {r.user for r in renders} == {f"{ssrs_fake.DOMAIN}\\{ssrs_fake.USER}"}, "the server checked each NTLM answer"


def test_midas_report_dag_defers_while_the_jobs_run_and_delivers_their_results(midas, factory, report_env):
    run, _ = run_sample(midas, factory, report_env)

    check_deferred_and_resumed(run, midas)
    assert [json.loads(r.body) for r in midas.starts()] == [
        {"report": "risk_positions", "format": fmt, "parameters": {"region": "APAC", "as_of": "2026-10-31"}}
        for fmt in ("pdf", "csv")
    ]
    assert {r.headers["x-api-key"] for r in midas.server.requests} == {midas_fake.API_KEY}


# --- failures inside a DAG run ------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unknown_report_fails_the_run_at_once_and_the_error_names_engine_and_status(
    engine, request, factory, report_env, tmp_path, monkeypatch
):
    fake: Fake = request.getfixturevalue(engine)
    dag = changed_dag(
        factory, tmp_path / "reports", monkeypatch, fake.report_id, fake.unknown_report, retry=QUICK_RETRY
    )

    run = test_run(dag, fake.conf)

    error = check_failed_at_once(run, fake, report_env)
    [start] = fake.starts()
    assert start.response.status == 404
    assert (error["error_code"], error["error_class"]) == ("HTTP_404", "EngineHttpError")
    assert re.match(rf"{engine}: HTTP 404 on {start.method} {re.escape(start.path)}: ", error["message"]), error[
        "message"
    ]


def test_a_job_midas_reports_failed_for_good_fails_the_resumed_task_without_a_retry(
    midas, factory, report_env, tmp_path, monkeypatch
):
    dag = changed_dag(factory, tmp_path / "reports", monkeypatch, midas.report_id, retry=QUICK_RETRY)
    midas.state.fail_next, midas.state.fail_retryable = True, False

    run = test_run(dag, midas.conf)

    error = check_failed_at_once(run, midas, report_env)
    # The failure came in the trigger's event: the task had deferred and resumed to raise it.
    ti = _generate(run)
    assert ti.trigger_id is not None and _trigger_of(ti)[0] == midas.trigger
    assert (error["error_code"], error["error_class"]) == ("ENGINE_JOB_FAILED", "EngineJobFailed")
    assert "WAREHOUSE_BUSY: the warehouse timed out" in error["message"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_503_on_the_first_call_is_retried_after_the_definitions_delay_and_the_run_completes(
    engine, request, factory, report_env, tmp_path, monkeypatch
):
    fake: Fake = request.getfixturevalue(engine)
    dag = changed_dag(factory, tmp_path / "reports", monkeypatch, fake.report_id, retry=QUICK_RETRY)
    fake.server.fail(fake.start, 503, body=b"Service Unavailable")

    run = test_run(dag, fake.conf)

    check_completed(run, fake, report_env)
    # the first answer past the login (SSRS's NTLM handshake begins with 401 challenges)
    answers = [r.response.status for r in fake.server.requests if fake.start in f"{r.path}?{r.query}"]
    assert next(status for status in answers if status != 401) == 503
    ti = _generate(run)
    [first] = _earlier_tries(run)
    assert (ti.try_number, first.try_number, str(first.state)) == (2, 1, "failed")
    assert ti.start_date - first.end_date >= timedelta(seconds=1), "Airflow waited the definition's retry_delay"
    trail = RequestStoreHook().trail(request_of(run))
    retries = [e for e in trail["events"] if e["event_type"] == "RETRY"]
    assert [(e["task_id"], e["try_number"], e["details"]["error_code"]) for e in retries] == [
        ("generate", 1, "HTTP_503")
    ]
    assert retries[0]["details"]["error"].startswith(f"{engine}: HTTP 503 on ")
    if fake.trigger:
        check_deferred_and_resumed(run, fake, try_number=2)


@pytest.mark.parametrize("engine", ["ssrs", "powerbi"])
def test_a_429_with_retry_after_waits_as_long_as_the_engine_asked_inside_a_real_run(
    engine, request, factory, report_env, tmp_path, monkeypatch
):
    fake: Fake = request.getfixturevalue(engine)
    # The definition's own wait is 1 s; the engine asks for 3 s, which is within max_retry_delay (60 s).
    dag = changed_dag(factory, tmp_path / "reports", monkeypatch, fake.report_id, retry=QUICK_RETRY)
    fake.server.fail(fake.start, 429, headers={"Retry-After": "3"}, body=b"Too Many Requests")

    run = test_run(dag, fake.conf)

    check_completed(run, fake, report_env)
    ti = _generate(run)
    [first] = _earlier_tries(run)
    assert (ti.try_number, str(first.state)) == (2, "failed")
    assert ti.start_date - first.end_date >= timedelta(seconds=3), "Airflow waited the engine's Retry-After"
    trail = RequestStoreHook().trail(request_of(run))
    [retry] = [e for e in trail["events"] if e["event_type"] == "RETRY"]
    assert retry["details"]["error_code"] == "HTTP_429"
