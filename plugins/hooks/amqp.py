"""RabbitMQ (AMQP 0-9-1) through pika: publish JSON events to a durable exchange and queue."""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import closing
from typing import Any

from airflow.sdk import BaseHook


class RabbitMQHook(BaseHook):
    """Publish persistent JSON messages with publisher confirms; no provider hook exists for this.

    The connection (type ``amqp``) gives host, port (default 5672), login, password and the
    virtual host as ``schema`` (default ``/``). Stateless: each publish opens and closes its
    own connection.

    :param amqp_conn_id: the Airflow connection of the broker.
    """

    conn_name_attr = "amqp_conn_id"
    default_conn_name = "rabbitmq_default"
    conn_type = "amqp"
    hook_name = "RabbitMQ (AMQP 0-9-1)"

    def __init__(self, amqp_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.amqp_conn_id = amqp_conn_id

    def _parameters(self) -> Any:
        import pika

        conn = self.get_connection(self.amqp_conn_id)
        return pika.ConnectionParameters(
            host=conn.host or "localhost",
            port=int(conn.port or 5672),
            virtual_host=conn.schema or "/",
            credentials=pika.PlainCredentials(conn.login or "guest", conn.password or "guest"),
            # Fail fast: Airflow's own retries (with backoff) decide when to try again.
            connection_attempts=1,
            socket_timeout=10,
            blocked_connection_timeout=30,
        )

    def publish(
        self,
        *,
        exchange: str,
        exchange_type: str,
        routing_key: str,
        bindings: dict[str, str],
        body: Mapping[str, Any],
        message_id: str,
    ) -> None:
        """Declare the durable exchange and queues, bind them, and publish one persistent message.

        Returns once the broker has confirmed the message; an unroutable or refused message raises.

        :param exchange: the durable exchange.
        :param exchange_type: ``direct`` or ``topic``.
        :param routing_key: the message's routing key.
        :param bindings: durable queue name -> the routing key it is bound with; declared on every
            publish so no queue of the topology is missing when its first message comes.
        :param body: the JSON-serialisable message.
        :param message_id: a stable id, so consumers can drop a re-published duplicate.
        """
        import pika

        with closing(pika.BlockingConnection(self._parameters())) as connection:
            channel = connection.channel()
            channel.confirm_delivery()
            channel.exchange_declare(exchange=exchange, exchange_type=exchange_type, durable=True)
            for queue, key in bindings.items():
                channel.queue_declare(queue=queue, durable=True)
                channel.queue_bind(queue=queue, exchange=exchange, routing_key=key)
            channel.basic_publish(
                exchange=exchange,
                routing_key=routing_key,
                body=json.dumps(body, default=str).encode(),
                properties=pika.BasicProperties(
                    content_type="application/json", delivery_mode=pika.DeliveryMode.Persistent, message_id=message_id
                ),
                # Raises UnroutableError instead of silently dropping an unbound message.
                mandatory=True,
            )
        self.log.info("published %s to exchange %s with routing key %s", message_id, exchange, routing_key)
