"""Report definitions: the pydantic v2 models of one ``include/reports/*.yaml`` file.

Every model is importable from here; each lives in the module of its part of the file.
"""

from __future__ import annotations

from reporting.definition.base import DefinitionModel, ReportFormat
from reporting.definition.engines import (
    Engine,
    HttpEngine,
    MidasEngine,
    ObieeEngine,
    PowerBiEngine,
    SqlEngine,
    SsrsEngine,
    parameter_text,
)
from reporting.definition.notifications import Notifications, QueueChannel
from reporting.definition.overrides import OverridePolicy
from reporting.definition.parameters import RESERVED_CONF_KEYS, InvalidParameters, ParameterSpec, ParameterType
from reporting.definition.presentation import (
    Aggregate,
    ChartSpec,
    ColumnFormat,
    ColumnSpec,
    CsvOptions,
    EmailBody,
    Layout,
    Presentation,
)
from reporting.definition.report import ReportDefinition
from reporting.definition.retry import RetryOverride, RetryPolicy
from reporting.definition.schedule import PRESETS, Schedule
from reporting.definition.targets import (
    EmailTarget,
    LocalTarget,
    S3Target,
    SftpTarget,
    SmbTarget,
    Target,
    TargetType,
)

__all__ = [
    "PRESETS",
    "RESERVED_CONF_KEYS",
    "Aggregate",
    "ChartSpec",
    "ColumnFormat",
    "ColumnSpec",
    "CsvOptions",
    "DefinitionModel",
    "EmailBody",
    "EmailTarget",
    "Engine",
    "HttpEngine",
    "InvalidParameters",
    "Layout",
    "LocalTarget",
    "MidasEngine",
    "Notifications",
    "ObieeEngine",
    "OverridePolicy",
    "ParameterSpec",
    "ParameterType",
    "PowerBiEngine",
    "Presentation",
    "QueueChannel",
    "ReportDefinition",
    "ReportFormat",
    "RetryOverride",
    "RetryPolicy",
    "S3Target",
    "Schedule",
    "SftpTarget",
    "SmbTarget",
    "SqlEngine",
    "SsrsEngine",
    "Target",
    "TargetType",
    "parameter_text",
]
