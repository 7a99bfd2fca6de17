"""Distribution: deliver a run's staged artifacts to one target (the task is mapped over targets).

Every deliverer is idempotent and atomic: local, SFTP and SMB write a temporary name and
rename it into place (a crash never leaves a partial file under the final name; each try has
a temporary name of its own, and the try that puts the file in place removes what killed
tries left behind); S3 writes the final key with the artifact's SHA-256 in its metadata and
skips an identical object; e-mail is sent once per (request, target), guarded by DELIVERY_LOG.

Before a file target writes, it claims the location in the request store (one holder per
location). When another request holds it, the target's ``on_conflict`` decides: ``unique``
delivers under a tagged name beside it, ``fail`` refuses, ``replace`` takes the location over
(both trails say so) once the holder's file is recorded. E-mail has no location and no conflict.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook, BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from report_runtime.files import partial_name, remove_leftovers, written_then_renamed
from report_runtime.request_context import actor, request_store
from report_runtime.sending_gate import hold_if_paused
from report_runtime.staging import copy_staged, is_s3, presigned_url
from report_runtime.tasks_test import refuse_missing_upstream
from reporting.conflicts import MAX_UNIQUE_NAMES, Action, Holder, OnConflict, candidates, decide, location_key
from reporting.contracts import Artifact, DeliveryOutcome, DeliveryRecord, TargetRecord
from reporting.definition import EmailTarget, LocalTarget, ReportDefinition, S3Target, SftpTarget, SmbTarget
from reporting.naming import NamingContext, render_filename, render_header, render_key, render_text
from reporting.run_targets import target_from_spec

FileTarget = LocalTarget | S3Target | SftpTarget | SmbTarget
"""A target that puts each file at a location of its own (e-mail has none)."""


def rendered_name(target: FileTarget, naming: NamingContext, fmt: str) -> str:
    """The name a file target's template gives a file: its object key for S3, its file name otherwise.

    :param target: the file target.
    :param naming: the run's naming context.
    :param fmt: the artifact format.
    """
    if isinstance(target, S3Target):
        return render_key(target.key, naming, fmt)
    return render_filename(target.filename, naming, fmt)


def location_of(target: FileTarget, name: str) -> str:
    """Where a file target puts a file of that name, as the delivery log records it.

    :param target: the file target.
    :param name: the file name (the object key for S3).
    """
    if isinstance(target, LocalTarget):
        return str(Path(target.resolved_path(os.environ)) / name)
    if isinstance(target, S3Target):
        return f"s3://{target.bucket}/{name}"
    host = BaseHook.get_connection(target.conn_id).host
    if isinstance(target, SftpTarget):
        return f"sftp://{host}{posixpath.join(target.directory, name)}"
    return f"smb://{host}/{target.share}/{posixpath.join(target.directory, name)}"


def deliver_local(
    target: LocalTarget, artifact: Artifact, naming: NamingContext, name: str | None = None
) -> DeliveryOutcome:
    """Copy one artifact into a local/NAS folder atomically: write a temporary name, then rename.

    A crash mid-copy leaves only the hidden temporary file, never a partial file under the
    final name; a retry overwrites the same final name.

    :param target: the local target.
    :param artifact: the staged artifact record.
    :param naming: the run's naming context.
    :param name: the file name to write (default: the target's template rendered).
    """
    final = Path(location_of(target, name or rendered_name(target, naming, artifact["format"])))
    final.parent.mkdir(parents=True, exist_ok=True)
    with written_then_renamed(final) as partial:
        size, digest = copy_staged(artifact["uri"], partial, expect_sha256=artifact["sha256"])
    return {"location": str(final), "bytes": size, "sha256": digest}


def _local_copy(artifact: Artifact, folder: str, name: str) -> tuple[Path, int, str]:
    """Copy a staged artifact into a private folder, checked against the staged checksum."""
    local = Path(folder) / name
    size, digest = copy_staged(artifact["uri"], local, expect_sha256=artifact["sha256"])
    return local, size, digest


def deliver_s3(target: S3Target, artifact: Artifact, naming: NamingContext, name: str | None = None) -> DeliveryOutcome:
    """Put one artifact under its final key with its SHA-256 in the metadata; skip an identical object.

    A PUT (single or multipart) becomes visible only when complete, so a reader never sees a
    partial object; a retry overwrites the same key.

    :param target: the S3 target.
    :param artifact: the staged artifact record.
    :param naming: the run's naming context.
    :param name: the object key to write (default: the target's key template rendered).
    """
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    key = name or rendered_name(target, naming, artifact["format"])
    location = location_of(target, key)
    # The checksum travels as object metadata (S3Hook's extra_args go with every upload); the copy
    # below is checked against it, so it is what the object will hold.
    metadata = {"sha256": artifact["sha256"], "request-id": naming.request_id}
    hook = S3Hook(aws_conn_id=target.conn_id, extra_args={"Metadata": metadata})
    head = hook.head_object(key=key, bucket_name=target.bucket)
    if (
        head
        and head.get("Metadata", {}).get("sha256") == artifact["sha256"]
        and head.get("ContentLength") == artifact["bytes"]
    ):
        return {
            "location": location,
            "bytes": artifact["bytes"],
            "sha256": artifact["sha256"],
            "skipped_identical": True,
        }
    with tempfile.TemporaryDirectory(prefix="deliver-s3-") as folder:
        local, size, digest = _local_copy(artifact, folder, "artifact")
        hook.load_file(local, key, bucket_name=target.bucket, replace=True)
    written = hook.head_object(key=key, bucket_name=target.bucket) or {}
    if written.get("ContentLength") != size or written.get("Metadata", {}).get("sha256") != digest:
        raise OSError(
            f"{location}: the stored object does not match the artifact ({written.get('ContentLength')} bytes)"
        )
    return {"location": location, "bytes": size, "sha256": digest}


@dataclass(frozen=True)
class _Upload:
    """One artifact on its way to a remote folder: its names there, and the verified local copy to send."""

    name: str
    final: str
    partial: str
    local: str
    size: int
    sha256: str


@contextmanager
def _upload(artifact: Artifact, name: str, directory: str) -> Iterator[_Upload]:
    """Name the remote files and copy the artifact into a private folder (checked against its checksum)."""
    with tempfile.TemporaryDirectory(prefix="deliver-") as folder:
        local, size, digest = _local_copy(artifact, folder, name)
        yield _Upload(
            name,
            posixpath.join(directory, name),
            posixpath.join(directory, partial_name(name)),
            str(local),
            size,
            digest,
        )


def deliver_sftp(
    target: SftpTarget, artifact: Artifact, naming: NamingContext, name: str | None = None
) -> DeliveryOutcome:
    """Upload one artifact over SFTP to a temporary name, check its size, and rename it into place.

    The rename is the POSIX one (OpenSSH's ``posix-rename@openssh.com``), which replaces an
    existing file atomically; plain SFTP rename refuses to overwrite.

    :param target: the SFTP target.
    :param artifact: the staged artifact record.
    :param naming: the run's naming context.
    :param name: the file name to write (default: the target's template rendered).
    """
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    name = name or rendered_name(target, naming, artifact["format"])
    hook = SFTPHook(ssh_conn_id=target.conn_id)
    with _upload(artifact, name, target.directory) as up, hook.get_managed_conn() as sftp:
        try:
            hook.create_directory(target.directory)
        except OSError:
            # The hook looks, then creates: another upload into the same new folder may create it in between.
            if not hook.isdir(target.directory):
                raise
        try:
            # confirm=True stats the uploaded file and raises if its size differs.
            hook.store_file(up.partial, up.local, confirm=True)
            sftp.posix_rename(up.partial, up.final)
        except BaseException:
            _quietly(lambda: sftp.remove(up.partial))
            raise
        if sftp.stat(up.final).st_size != up.size:
            raise OSError(f"sftp {up.final}: size after rename differs from {up.size}")
        remove_leftovers(
            sftp.listdir(target.directory), up.name, lambda n: sftp.remove(posixpath.join(target.directory, n))
        )
    return {"location": location_of(target, name), "bytes": up.size, "sha256": up.sha256}


def deliver_smb(
    target: SmbTarget, artifact: Artifact, naming: NamingContext, name: str | None = None
) -> DeliveryOutcome:
    """Write one artifact to an SMB share under a temporary name, then replace the final name with it.

    :param target: the SMB target.
    :param artifact: the staged artifact record.
    :param naming: the run's naming context.
    :param name: the file name to write (default: the target's template rendered).
    """
    from airflow.providers.samba.hooks.samba import SambaHook

    name = name or rendered_name(target, naming, artifact["format"])
    with (
        _upload(artifact, name, target.directory) as up,
        SambaHook(samba_conn_id=target.conn_id, share=target.share) as hook,
    ):
        if target.directory:
            hook.makedirs(target.directory, exist_ok=True)
        try:
            hook.push_from_local(up.partial, up.local)
            if hook.stat(up.partial).st_size != up.size:
                raise OSError(f"smb {up.partial}: written size differs from {up.size}")
            hook.replace(up.partial, up.final)
        except BaseException:
            _quietly(lambda: hook.remove(up.partial))
            raise
        remove_leftovers(
            hook.listdir(target.directory), up.name, lambda n: hook.remove(posixpath.join(target.directory, n))
        )
    return {"location": location_of(target, name), "bytes": up.size, "sha256": up.sha256}


def deliver_email(
    target: EmailTarget, artifacts: list[Artifact], naming: NamingContext, target_key: str
) -> list[DeliveryOutcome]:
    """Send one message with the artifacts attached, or linked when they are too big (or asked to).

    Links are presigned S3 URLs when staging is S3 (valid for ``link_expiry``); with local
    staging the link is the staged file's URI.

    :param target: the e-mail target.
    :param artifacts: the artifacts not yet sent to this target.
    :param naming: the run's naming context.
    :param target_key: the target's key (sent as a header, so a reader can de-duplicate).
    """
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    formats = ", ".join(a["format"] for a in artifacts)
    subject = render_header(target.subject, naming, formats)
    body = render_text(target.body, naming, formats)
    total = sum(a["bytes"] for a in artifacts)
    attach = target.mode == "attach" and total <= target.max_attachment_bytes
    with tempfile.TemporaryDirectory(prefix="deliver-email-") as folder:
        files: list[str] = []
        outcomes: list[DeliveryOutcome] = []
        links = []
        for artifact in artifacts:
            name = render_filename(
                artifact.get("file_name") or f"{naming.report_id}.{artifact['format']}", naming, artifact["format"]
            )
            if attach:
                local, size, digest = _local_copy(artifact, folder, name)
                files.append(str(local))
                outcomes.append({"location": f"mailto:{','.join(target.to)}#{name}", "bytes": size, "sha256": digest})
            else:
                url = _link(artifact, target)
                links.append((name, url))
                outcomes.append(
                    {
                        "location": f"mailto:{','.join(target.to)}#link:{name}",
                        "bytes": artifact["bytes"],
                        "sha256": artifact["sha256"],
                    }
                )
        if links:
            from html import escape

            items = "".join(f'<li><a href="{escape(url)}">{escape(name)}</a></li>' for name, url in links)
            body += f"<p>The files are too large to attach; download them here:</p><ul>{items}</ul>"
        with SmtpHook(smtp_conn_id=target.conn_id) as hook:
            hook.send_email_smtp(
                to=target.to,
                cc=target.cc or None,
                bcc=target.bcc or None,
                subject=subject,
                html_content=body,
                files=files or None,
                custom_headers={"X-Report-Request-Id": naming.request_id, "X-Report-Target": target_key},
            )
    return outcomes


def _link(artifact: Artifact, target: EmailTarget) -> str:
    uri: str = artifact["uri"]
    if is_s3(uri):
        return presigned_url(uri, int(target.link_expiry.total_seconds()))
    return uri


def _check_names(spec: Any, artifacts: list[Artifact], naming: NamingContext) -> None:
    """Render every name the delivery will use, so a bad one fails before anything is sent."""
    if isinstance(spec, LocalTarget):
        spec.resolved_path(os.environ)
    for artifact in artifacts:
        for _, template, kind in spec.templates():
            if kind in ("filename", "key"):
                (render_key if kind == "key" else render_filename)(template, naming, artifact["format"])
    if isinstance(spec, EmailTarget) and artifacts:
        render_header(spec.subject, naming, ", ".join(a["format"] for a in artifacts))


def _quietly(action: Callable[[], Any]) -> None:
    # cleaning up after a failure must not replace the failure
    with contextlib.suppress(Exception):
        action()


DELIVERERS: dict[str, Callable[[Any, Artifact, NamingContext, str | None], DeliveryOutcome]] = {
    "local": deliver_local,
    "s3": deliver_s3,
    "sftp": deliver_sftp,
    "smb": deliver_smb,
}
"""One-file deliverers by target type; ``email`` sends all of a run's files in one message."""

CLAIM_WAIT_SECONDS = 600.0
"""How long ``replace`` waits for another request still writing the location before it retries later."""
CLAIM_POLL_SECONDS = 1.0
"""How often it looks again meanwhile."""
LEASE_MARGIN = timedelta(minutes=5)
"""Added to a task's timeout for its claims' lease: workers' clocks differ a little."""


class DistributeOperator(BaseOperator):
    """Deliver every selected artifact of a run to one distribution target.

    Mapped with ``.expand(target=...)`` over the run's resolved targets (the claim task's
    ``targets`` XCom): one task instance per target, each with its own retries, so a failing
    destination never repeats a delivery that already succeeded.

    :param definition: the report definition.
    :param request: the claimed request (the claim task's XCom).
    :param artifacts: the staged artifact records (the generate task's XCom).
    :param target: ``{"key", "spec", ...}`` from the claim task (``spec`` is the target's JSON form).
    """

    template_fields: Sequence[str] = ("request", "artifacts", "target")
    ui_color = "#e8f5e9"

    def __init__(
        self, *, definition: ReportDefinition, request: Any, artifacts: Any, target: TargetRecord, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.definition = definition
        self.request = request
        self.artifacts = artifacts
        self.target = target

    def execute(self, context: Context) -> list[DeliveryRecord]:
        refuse_missing_upstream(self, context, self.request, self.artifacts)
        hold_if_paused(context, self.request["request_id"])
        spec = target_from_spec(self.target["spec"])
        key = self.target["key"]
        naming = NamingContext.for_request(self.definition.id, self.definition.title, self.request)
        wanted = set(spec.formats or self.definition.formats)
        request_id = self.request["request_id"]
        store = request_store()
        me = actor(context)
        outcomes: dict[str, DeliveryOutcome] = {}
        pending: list[Artifact] = []
        for artifact in self.artifacts:
            if artifact["format"] not in wanted:
                continue
            done = store.get_delivery(request_id, key, artifact["format"])
            if done is not None:
                # At most once per (request, target, format): a retried, cleared or replayed
                # task never sends the same file to the same target twice.
                self.log.info(
                    "request %s: %s already delivered to %s at %s; not sent again",
                    request_id,
                    artifact["format"],
                    key,
                    done["remote_location"],
                )
                outcomes[artifact["format"]] = {
                    "location": done["remote_location"],
                    "bytes": done["bytes"],
                    "sha256": done["sha256"],
                }
            else:
                pending.append(artifact)
        try:
            _check_names(spec, pending, naming)
        except ValueError as exc:
            # A bad name or path will be just as bad on the next attempt.
            raise AirflowFailException(f"target {key!r}: {exc}") from None
        try:
            if isinstance(spec, EmailTarget):
                sent = deliver_email(spec, pending, naming, key) if pending else []
            else:
                sent = []
                for artifact in pending:
                    outcome, claim_key = self._deliver_file(store, me, spec, key, artifact, naming)
                    self._record(store, me, request_id, key, artifact, outcome, claim_key)
                    outcomes[artifact["format"]] = outcome
        except AirflowFailException:
            raise
        except Exception as exc:
            # smbprotocol reports a refused connection as ValueError("Failed to connect ...").
            unreachable = (
                isinstance(exc, (ConnectionError, TimeoutError, EOFError))
                or "SSHException" in type(exc).__name__
                or "Failed to connect" in str(exc)
            )
            kind = TargetUnreachable if unreachable else DeliveryError
            raise kind(f"target {key!r} ({spec.type}): {type(exc).__name__}: {exc}") from exc
        if isinstance(spec, EmailTarget):
            for artifact, outcome in zip(pending, sent, strict=True):
                self._record(store, me, request_id, key, artifact, outcome)
                outcomes[artifact["format"]] = outcome
        return [
            {
                "request_id": request_id,
                "target": key,
                "type": spec.type,
                "format": artifact["format"],
                **outcomes[artifact["format"]],
            }
            for artifact in self.artifacts
            if artifact["format"] in outcomes
        ]

    def _deliver_file(
        self, store: Any, me: Any, spec: FileTarget, key: str, artifact: Artifact, naming: NamingContext
    ) -> tuple[DeliveryOutcome, str]:
        """Claim a location for one file (the rendered name, or a unique one), then write it there.

        Returns the delivery's outcome and the location's claim key.
        """
        fmt = artifact["format"]
        rendered = rendered_name(spec, naming, fmt)
        policy = OnConflict(spec.on_conflict)
        for name in candidates(rendered, naming.request_id, policy, key=isinstance(spec, S3Target)):
            location = location_of(spec, name)
            claim_key = location_key(spec.type, location)
            if self._claim(store, me, spec, key, fmt, location, claim_key, policy) is Action.WRITE:
                if name != rendered:
                    self.log.warning(
                        "request %s: %s holds another request's file; %s goes to %s instead (on_conflict: unique)",
                        naming.request_id,
                        location_of(spec, rendered),
                        fmt,
                        location,
                    )
                return DELIVERERS[spec.type](spec, artifact, naming, name), claim_key
        raise AirflowFailException(
            f"target {key!r} ({spec.type}): {location_of(spec, rendered)} and its {MAX_UNIQUE_NAMES} unique names "
            "all hold other requests' files"
        )

    def _claim(
        self,
        store: Any,
        me: Any,
        spec: FileTarget,
        key: str,
        fmt: str,
        location: str,
        claim_key: str,
        policy: OnConflict,
    ) -> Action:
        """Claim one location for this request: ``WRITE`` (it is ours now) or ``NEXT`` (try another name).

        :raises DeliveryConflict: another request holds it and ``on_conflict`` is ``fail``.
        :raises DeliveryError: another request is still writing it after the wait (retryable).
        """
        request_id = self.request["request_id"]
        lease = (self.execution_timeout or self.definition.execution_timeout) + LEASE_MARGIN
        deadline = time.monotonic() + CLAIM_WAIT_SECONDS
        while True:
            claim = store.claim_location(
                claim_key, location, request_id=request_id, target_key=key, format=fmt, lease=lease
            )
            holder = Holder(claim["request_id"], claim["delivered_at"] is not None, claim["expired"])
            action = decide(holder, request_id, policy)
            if action in (Action.WRITE, Action.NEXT):
                return action
            if action is Action.FAIL:
                state = "delivered" if holder.delivered else "being written now"
                raise DeliveryConflict(
                    f"target {key!r} ({spec.type}): {location} holds the {fmt} file of request "
                    f"{holder.request_id!r} ({state}); on_conflict: fail refuses to write over it"
                )
            if action is Action.TAKE_OVER:
                if store.take_over_location(
                    claim, request_id=request_id, target_key=key, format=fmt, lease=lease, actor=me
                ):
                    self.log.warning(
                        "request %s: %s %s request %s's file (on_conflict: %s)",
                        request_id,
                        location,
                        "replaces" if holder.delivered else "is taken over from a dead try of",
                        holder.request_id,
                        policy,
                    )
                    return Action.WRITE
                continue  # the claim changed since it was read: look again
            if time.monotonic() >= deadline:
                raise DeliveryError(
                    f"{location} is still being written by request {holder.request_id!r} after "
                    f"{CLAIM_WAIT_SECONDS:.0f} s; replacing it is left to a retry"
                )
            self.log.info(
                "request %s: %s is being written by request %s; waiting", request_id, location, holder.request_id
            )
            time.sleep(CLAIM_POLL_SECONDS)

    def _record(
        self,
        store: Any,
        me: Any,
        request_id: str,
        key: str,
        artifact: Artifact,
        outcome: DeliveryOutcome,
        claim_key: str | None = None,
    ) -> None:
        store.record_delivery(
            request_id,
            target_key=key,
            format=artifact["format"],
            location=outcome["location"],
            size=outcome["bytes"],
            sha256=outcome["sha256"],
            actor=me,
            claim_key=claim_key,
        )
        self.log.info(
            "request %s: delivered %s to %s at %s (%d bytes)",
            request_id,
            artifact["format"],
            key,
            outcome["location"],
            outcome["bytes"],
        )


class DeliveryError(Exception):
    """A target could not be written; retryable, and its message names the target."""


class TargetUnreachable(DeliveryError, ConnectionError):
    """A target's server could not be reached (classified as a connection error)."""


class DeliveryConflict(AirflowFailException):
    """A target's location holds another request's file and its ``on_conflict`` is ``fail``; never retried."""
