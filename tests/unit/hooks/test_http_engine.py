"""The BI engine hooks follow the provider convention for their connection attribute."""

from __future__ import annotations

import pytest

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


def test_other_missing_attributes_still_raise():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        PowerBiHook().nope  # noqa: B018
