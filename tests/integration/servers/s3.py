"""An S3-compatible server: moto's, on a high port, in a thread of the test process."""

from __future__ import annotations

import json

from moto.server import ThreadedMotoServer

from servers.common import free_port, wait_for_port

ACCESS_KEY = "reporting-it"
SECRET_KEY = "reporting-it-secret"


class S3Server:
    """moto's threaded server; its buckets live in this process, so they survive a stop/start."""

    def __init__(self) -> None:
        self.port = free_port()
        self.server: ThreadedMotoServer | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen on 127.0.0.1:port."""
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        wait_for_port(self.port)

    def stop(self) -> None:
        """Stop listening."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    def connection(self) -> str:
        """The Airflow AWS connection (JSON) pointing at this server."""
        return json.dumps(
            {
                "conn_type": "aws",
                "login": ACCESS_KEY,
                "password": SECRET_KEY,
                "extra": {
                    "endpoint_url": self.endpoint,
                    "region_name": "us-east-1",
                    "config_kwargs": {
                        "retries": {"max_attempts": 1, "mode": "standard"},
                        "connect_timeout": 2,
                        "read_timeout": 10,
                    },
                },
            }
        )

    def client(self):
        """A boto3 S3 client of this server, for reading back what arrived."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
