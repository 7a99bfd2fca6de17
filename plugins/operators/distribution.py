"""Distribution: deliver a run's staged artifacts to one target (the task is mapped over targets)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from operators.staging import copy_staged
from reporting.definition import LocalTarget, ReportDefinition
from reporting.naming import NamingContext, render_filename


def deliver_local(target: LocalTarget, artifact: dict[str, Any], naming: NamingContext) -> dict[str, Any]:
    """Copy one artifact into a local/NAS folder atomically: write a temporary name, then rename.

    A crash mid-copy leaves only the hidden temporary file, never a partial file under the
    final name; a retry overwrites the same final name.

    :param target: the local target.
    :param artifact: the staged artifact record.
    :param naming: the run's naming context.
    """
    directory = Path(target.resolved_path(os.environ))
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / render_filename(target.filename, naming, artifact["format"])
    partial = directory / f".{final.name}.{os.getpid()}.partial"
    try:
        size, digest = copy_staged(artifact["uri"], partial)
        if digest != artifact["sha256"]:
            raise OSError(f"{artifact['uri']}: copied sha256 {digest} differs from the staged {artifact['sha256']}")
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    return {"location": str(final), "bytes": size, "sha256": digest}


DELIVERERS: dict[str, Callable[[Any, dict[str, Any], NamingContext], dict[str, Any]]] = {
    "local": deliver_local,
}


class DistributeOperator(BaseOperator):
    """Deliver every selected artifact of a run to one distribution target.

    Mapped with ``.expand(target=...)``: one task instance per target, each with its own
    retries, so a failing destination never repeats a delivery that already succeeded.

    :param definition: the report definition.
    :param request: the claimed request (the claim task's XCom).
    :param artifacts: the staged artifact records (the generate task's XCom).
    :param target: ``{"index": <position in distribution>, "key": <target key>}``.
    """

    template_fields: Sequence[str] = ("request", "artifacts", "target")
    ui_color = "#e8f5e9"

    def __init__(
        self, *, definition: ReportDefinition, request: Any, artifacts: Any, target: dict[str, Any], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.definition = definition
        self.request = request
        self.artifacts = artifacts
        self.target = target

    def execute(self, context: Context) -> list[dict[str, Any]]:
        spec = self.definition.distribution[self.target["index"]]
        key = self.target["key"]
        naming = NamingContext.for_request(self.definition.id, self.definition.title, self.request)
        wanted = set(spec.formats or self.definition.formats)
        deliveries = []
        for artifact in self.artifacts:
            if artifact["format"] not in wanted:
                continue
            try:
                outcome = DELIVERERS[spec.type](spec, artifact, naming)
            except ValueError as exc:
                # A bad name or path will be just as bad on the next attempt.
                raise AirflowFailException(f"target {key!r}: {exc}") from None
            record = {
                "request_id": self.request["request_id"],
                "target": key,
                "type": spec.type,
                "format": artifact["format"],
                "delivered_at": datetime.now(timezone.utc).isoformat(),
                **outcome,
            }
            self.log.info(
                "request %s: delivered %s to %s at %s (%d bytes)",
                record["request_id"],
                record["format"],
                key,
                record["location"],
                record["bytes"],
            )
            deliveries.append(record)
        return deliveries
