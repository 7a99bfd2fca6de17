"""The request store: report requests, their audit trail, errors and deliveries, in our own database.

``hook`` (:class:`RequestStoreHook`), ``transaction`` (one open transaction and its :class:`Actor`),
``statements`` (the SQL files under ``include/sql/``).
"""

from __future__ import annotations

from hooks.request_store.hook import RequestStoreHook
from hooks.request_store.statements import STREAM
from hooks.request_store.transaction import Actor

__all__ = ["STREAM", "Actor", "RequestStoreHook"]
