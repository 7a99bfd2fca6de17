"""Distribution: deliver a run's staged artifacts to one target (the task is mapped over targets)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from operators.request_context import actor, request_store
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
        request_id = self.request["request_id"]
        store = request_store()
        me = actor(context)
        deliveries = []
        for artifact in self.artifacts:
            if artifact["format"] not in wanted:
                continue
            done = store.get_delivery(request_id, key, artifact["format"])
            if done is not None:
                # At most once per (request, target, format): a retried, cleared or replayed
                # task never sends the same file to the same target twice.
                self.log.info("request %s: %s already delivered to %s at %s; not sent again",
                              request_id, artifact["format"], key, done["remote_location"])
                outcome = {"location": done["remote_location"], "bytes": done["bytes"], "sha256": done["sha256"]}
            else:
                try:
                    outcome = DELIVERERS[spec.type](spec, artifact, naming)
                except ValueError as exc:
                    # A bad name or path will be just as bad on the next attempt.
                    raise AirflowFailException(f"target {key!r}: {exc}") from None
                store.record_delivery(
                    request_id, target_key=key, format=artifact["format"], location=outcome["location"],
                    size=outcome["bytes"], sha256=outcome["sha256"], actor=me,
                )
                self.log.info("request %s: delivered %s to %s at %s (%d bytes)",
                              request_id, artifact["format"], key, outcome["location"], outcome["bytes"])
            deliveries.append({
                "request_id": request_id,
                "target": key,
                "type": spec.type,
                "format": artifact["format"],
                **outcome,
            })
        return deliveries
