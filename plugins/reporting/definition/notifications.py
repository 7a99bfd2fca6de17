"""Who hears about a run: stakeholder e-mail and the message-queue channel."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from reporting.constants import NotificationEvent
from reporting.definition.base import CONN_ID, DefinitionModel, EmailAddress

_AMQP_NAME = r"^[A-Za-z0-9_.:\-]{1,200}$"


class QueueChannel(DefinitionModel):
    """The message-queue channel (RabbitMQ): durable exchange, event queue and dead-letter queue.

    :param conn_id: the Airflow connection of the broker (``amqp``: host, port, login, password, vhost as schema).
    :param exchange: the durable exchange events are published to.
    :param exchange_type: ``direct`` or ``topic``.
    :param routing_key: the routing key of completion events.
    :param queue: the durable queue bound to ``routing_key``.
    :param dead_letter_routing_key: the routing key of failure events.
    :param dead_letter_queue: the durable queue bound to ``dead_letter_routing_key``.
    """

    conn_id: str = Field(default="rabbitmq_default", pattern=CONN_ID)
    exchange: str = Field(default="reports", pattern=_AMQP_NAME)
    exchange_type: Literal["direct", "topic"] = "direct"
    routing_key: str = Field(default=NotificationEvent.COMPLETED.value, pattern=_AMQP_NAME)
    queue: str = Field(default="report-events", pattern=_AMQP_NAME)
    dead_letter_routing_key: str = Field(default=NotificationEvent.FAILED.value, pattern=_AMQP_NAME)
    dead_letter_queue: str = Field(default="report-events-dead-letter", pattern=_AMQP_NAME)


class Notifications(DefinitionModel):
    """Who hears about a run.

    :param emails: stakeholder addresses.
    :param on_success: notify when the report is delivered.
    :param on_failure: notify when the request fails for good.
    :param smtp_conn_id: the SMTP connection stakeholder mail goes through; without it the
        mail is only logged.
    :param queue: the message-queue channel; without it events are only logged.
    """

    emails: list[EmailAddress] = Field(default_factory=list, max_length=100)
    on_success: bool = True
    on_failure: bool = True
    smtp_conn_id: str | None = Field(default=None, pattern=CONN_ID)
    queue: QueueChannel | None = None
