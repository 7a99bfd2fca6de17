"""An SMTP server (aiosmtpd) on a high port that keeps every message it receives."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from servers.common import free_port


class _Keeper:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": list(envelope.rcpt_tos),
                    "message": email.message_from_bytes(envelope.original_content, policy=email.policy.default),
                }
            )
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd's threaded controller with a handler that stores the parsed messages."""

    def __init__(self) -> None:
        self.port = free_port()
        self.keeper = _Keeper()
        self.controller: Controller | None = None

    def start(self) -> None:
        """Listen on 127.0.0.1:port."""
        self.controller = Controller(self.keeper, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening (the kept messages stay)."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def clear(self) -> None:
        """Forget the messages received so far."""
        with self.keeper.lock:
            self.keeper.messages.clear()

    def messages(self, header: str | None = None, value: str | None = None) -> list[dict[str, Any]]:
        """The received messages, optionally only those whose ``header`` equals ``value``."""
        with self.keeper.lock:
            found = list(self.keeper.messages)
        if header is None:
            return found
        return [m for m in found if m["message"][header] == value]

    def connection(self, from_email: str = "reports@example.com") -> str:
        """The Airflow connection (JSON) of this server: plain SMTP, no TLS, no login."""
        return json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": self.port,
                "extra": {
                    "disable_ssl": True,
                    "disable_tls": True,
                    "from_email": from_email,
                    "retry_limit": 0,
                    "timeout": 10,
                },
            }
        )


def attachments(message: EmailMessage) -> dict[str, bytes]:
    """File name -> decoded bytes of every attachment of a message."""
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}
