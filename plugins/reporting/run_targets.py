"""The targets of one run: the definition's, plus or instead of a request's own, all checked first.

A request may carry its own distribution (``conf.distribution`` or the worktable column):
either a list of targets to add, or ``{"mode": "add" | "replace", "targets": [...]}``. Every
added target must fit the definition's :class:`~reporting.definition.OverridePolicy`, and
every target's names must render safely for this run, before anything is sent anywhere.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from reporting.contracts import TargetRecord
from reporting.definition import EmailTarget, LocalTarget, ReportDefinition, Target
from reporting.errors import ProblemsError
from reporting.limits import quote
from reporting.loader import validation_messages
from reporting.naming import RENDERERS, NamingContext, TemplateError

_TARGETS = TypeAdapter(list[Target])
_TARGET = TypeAdapter(Target)


class InvalidDistribution(ProblemsError):
    """A request's distribution does not fit the definition; ``problems`` names each field."""


def target_from_spec(spec: Mapping[str, Any]) -> Target:
    """Rebuild a target model from its JSON form (the claim task's XCom).

    :param spec: ``target.model_dump(mode="json")``.
    """
    return _TARGET.validate_python(dict(spec))


def resolve_targets(definition: ReportDefinition, overrides: Any) -> list[TargetRecord]:
    """The run's targets as ``{"key", "index", "origin", "type", "spec"}`` records, in delivery order.

    :param definition: the report definition.
    :param overrides: the request's distribution (``None`` for the definition's targets only).
    :raises InvalidDistribution: with every problem, each naming its field path.
    """
    own: list[TargetRecord] = [
        {
            "key": definition.target_key(i),
            "index": i,
            "origin": "definition",
            "type": t.type,
            "spec": t.model_dump(mode="json"),
        }
        for i, t in enumerate(definition.distribution)
    ]
    if overrides in (None, [], {}):
        return own
    mode, raw = _shape(overrides)
    policy = definition.distribution_overrides
    problems: list[str] = []
    if not policy.allowed_types:
        raise InvalidDistribution(
            [f"distribution: report {quote(definition.id)} does not allow per-request distribution"]
        )
    if mode == "replace" and not policy.allow_replace:
        problems.append(f"distribution.mode: report {quote(definition.id)} does not allow replacing its targets")
    if len(raw) > policy.max_targets:
        problems.append(f"distribution.targets: at most {policy.max_targets} targets, got {len(raw)}")
    try:
        targets = _TARGETS.validate_python(raw)
    except ValidationError as exc:
        raise InvalidDistribution(
            problems
            + [
                f"distribution.targets{m}" if m.startswith("[") else f"distribution.targets: {m}"
                for m in validation_messages(exc, raw)
            ]
        ) from None
    added: list[TargetRecord] = []
    taken = {t["key"] for t in own} if mode == "add" else set()
    for i, target in enumerate(targets):
        where = f"distribution.targets[{i}]"
        problems.extend(f"{where}.{p}" for p in _policy_problems(definition, target))
        for field, template, kind in target.templates():
            try:
                definition.check_template(template, kind)
            except TemplateError as exc:
                problems.append(f"{where}.{field}: {exc}")
        key = target.name or f"request_{target.type}_{i}"
        if key in taken:
            problems.append(f"{where}.name: {quote(key)} is already a target of this run")
        taken.add(key)
        added.append(
            {
                "key": key,
                "index": None,
                "origin": "request",
                "type": target.type,
                "spec": target.model_dump(mode="json"),
            }
        )
    if problems:
        raise InvalidDistribution(problems)
    return added if mode == "replace" else own + added


def check_rendering(definition: ReportDefinition, targets: list[TargetRecord], naming: NamingContext) -> None:
    """Render every name, key, subject and body of the run's targets, refusing any unsafe one.

    Run before any delivery, so a parameter value that would inject a header or climb out of
    a folder stops the run before a single file leaves.

    :param definition: the report definition.
    :param targets: the resolved targets.
    :param naming: the run's naming context.
    """
    problems = []
    for record in targets:
        target = target_from_spec(record["spec"])
        formats = list(target.formats or definition.formats)
        for field, template, kind in target.templates():
            # A message carries every format at once; file names and keys are per format.
            for fmt in [", ".join(formats)] if isinstance(target, EmailTarget) else formats:
                try:
                    RENDERERS[kind](template, naming, fmt)
                except TemplateError as exc:
                    problems.append(f"target {quote(record['key'])}.{field}: {exc}")
                    break
    if problems:
        raise InvalidDistribution(problems)


def _shape(overrides: Any) -> tuple[str, list[Any]]:
    if isinstance(overrides, list):
        return "add", overrides
    if isinstance(overrides, Mapping):
        unknown = sorted(set(overrides) - {"mode", "targets"})
        if unknown:
            raise InvalidDistribution([f"distribution.{k}: unknown field (use mode and targets)" for k in unknown])
        mode = overrides.get("mode", "add")
        if mode not in ("add", "replace"):
            raise InvalidDistribution([f"distribution.mode: {quote(mode)} is neither 'add' nor 'replace'"])
        targets = overrides.get("targets")
        if not isinstance(targets, list) or not targets:
            raise InvalidDistribution(["distribution.targets: a non-empty list of targets is required"])
        return mode, targets
    raise InvalidDistribution(["distribution: must be a list of targets or {mode, targets}"])


def _policy_problems(definition: ReportDefinition, target: Target) -> list[str]:
    policy = definition.distribution_overrides
    problems = []
    if target.type not in policy.allowed_types:
        problems.append(f"type: {quote(target.type)} is not allowed (allowed: {', '.join(policy.allowed_types)})")
    for fmt in target.formats or ():
        if fmt not in definition.formats:
            problems.append(f"formats: {quote(fmt)} is not among the report's formats")
    if isinstance(target, LocalTarget):
        path = posixpath.normpath(target.path)
        if target.path.startswith("${") or not any(
            path == root or path.startswith(root.rstrip("/") + "/") for root in policy.allowed_paths
        ):
            problems.append(f"path: {quote(target.path)} is not under an allowed path")
    elif target.conn_id not in policy.allowed_conn_ids:
        problems.append(f"conn_id: {quote(target.conn_id)} is not an allowed connection")
    if getattr(target, "on_conflict", None) == "replace":
        # A caller may never choose to write over a file another request delivered.
        problems.append("on_conflict: 'replace' is not allowed on a request's own target (use unique or fail)")
    if isinstance(target, EmailTarget):
        for address in target.recipients():
            if address.rsplit("@", 1)[-1].lower() not in policy.allowed_email_domains:
                problems.append(f"to: {quote(address)} is outside the allowed domains")
    return problems
