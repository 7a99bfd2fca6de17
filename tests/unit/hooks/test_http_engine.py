"""The BI engine hooks follow the provider conventions: the connection attribute, and get_conn() as HttpHook has it."""

from __future__ import annotations

import json

import pytest
import requests

from hooks.bi_publisher import BiPublisherHook
from hooks.midas import MidasHook
from hooks.power_bi import PowerBiHook
from hooks.ssrs import SsrsHook

HOOKS = [BiPublisherHook, PowerBiHook, SsrsHook, MidasHook]


@pytest.mark.parametrize("hook_class", HOOKS)
def test_the_connection_id_is_readable_through_conn_name_attr(hook_class):
    assert getattr(hook_class("engine_conn"), hook_class.conn_name_attr) == "engine_conn"
    assert getattr(hook_class(), hook_class.conn_name_attr) == hook_class.default_conn_name


@pytest.mark.parametrize("hook_class", HOOKS)
def test_each_hook_names_its_connection_type_and_default(hook_class):
    assert hook_class.conn_name_attr.endswith("_conn_id")
    assert hook_class.default_conn_name.endswith("_default")
    assert hook_class.conn_type and hook_class.hook_name


def _connection(monkeypatch, conn_id: str, **fields) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def test_get_conn_gives_an_authenticated_session_and_sets_the_base_url(monkeypatch):
    _connection(monkeypatch, "bip", conn_type="bi_publisher", host="bi.example.com", port=9502, login="u", password="p")
    hook = BiPublisherHook("bip")

    with hook.get_conn() as session:
        assert isinstance(session, requests.Session)
        assert session.auth == ("u", "p")
    assert hook.base_url == "https://bi.example.com:9502"


def test_bi_publisher_sends_a_bearer_token_when_the_connection_says_so(monkeypatch):
    _connection(
        monkeypatch,
        "bip",
        conn_type="bi_publisher",
        host="http://bi:8080/",
        password="t0ken",
        extra={"auth_type": "bearer"},
    )
    hook = BiPublisherHook("bip")

    with hook.get_conn() as session:
        assert session.auth is None and session.headers["Authorization"] == "Bearer t0ken"
    assert hook.base_url == "http://bi:8080"


def test_ssrs_sessions_speak_ntlm_or_basic_and_the_base_url_is_the_report_server(monkeypatch):
    from requests_ntlm import HttpNtlmAuth

    _connection(
        monkeypatch, "ssrs_ntlm", conn_type="ssrs", host="https://ssrs.example.com", login="DOM\\u", password="p"
    )
    _connection(
        monkeypatch,
        "ssrs_basic",
        conn_type="ssrs",
        host="https://ssrs.example.com",
        login="u",
        password="p",
        extra={"auth_type": "basic", "report_server_path": "/ReportServer_SQL2019"},
    )
    ntlm, basic = SsrsHook("ssrs_ntlm"), SsrsHook("ssrs_basic")

    with ntlm.get_conn() as session:
        assert isinstance(session.auth, HttpNtlmAuth)
    with basic.get_conn() as session:
        assert session.auth == ("u", "p")
    assert ntlm.base_url == "https://ssrs.example.com/ReportServer"
    assert basic.base_url == "https://ssrs.example.com/ReportServer_SQL2019"


def test_midas_sessions_carry_the_api_key_in_the_header_the_connection_names(monkeypatch):
    _connection(
        monkeypatch,
        "midas",
        conn_type="midas",
        host="https://midas.example.com",
        password="k3y",
        extra={"api_key_header": "X-Midas-Key"},
    )

    with MidasHook("midas").get_conn() as session:
        assert session.headers["X-Midas-Key"] == "k3y" and session.headers["Accept"] == "application/json"


def test_power_bi_sessions_carry_the_token_and_talk_to_the_clouds_api(monkeypatch):
    _connection(
        monkeypatch,
        "pbi",
        conn_type="powerbi",
        login="client",
        password="secret",
        extra={"tenant_id": "t", "api_url": "https://api.powerbi.de/"},
    )
    hook = PowerBiHook("pbi")
    monkeypatch.setattr(hook, "get_token", lambda: "tok")

    with hook.get_conn() as session:
        assert session.headers["Authorization"] == "Bearer tok"
    assert hook.base_url == "https://api.powerbi.de"
