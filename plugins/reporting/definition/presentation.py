"""How a report rendered here reads: column formats, groups and totals, charts, the page layout and the e-mail body.

These blocks apply to the files this package renders itself (the ``sql`` engine); a BI engine
lays out its own documents. Every block is optional: with none of them a report is a formatted
table with a title block, repeated headers, zebra rows and "Page X of Y".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import Field, field_validator, model_validator

from reporting.date_patterns import PatternError, tokens
from reporting.definition.base import DefinitionModel
from reporting.limits import quote

ColumnFormat = Literal["text", "number", "integer", "currency", "percent", "date", "datetime"]
"""How a column's values read: see :class:`ColumnSpec`."""

Aggregate = Literal["sum", "count", "avg", "min", "max"]
"""A total over a column: ``count`` counts non-empty values; the others skip empty (NULL) values."""

ChartType = Literal["bar", "line", "pie"]
PageSize = Literal["A4", "A3", "Letter", "Legal"]
Orientation = Literal["auto", "portrait", "landscape"]
CsvEncoding = Literal["utf-8", "utf-8-sig"]

MAX_GROUP_LEVELS = 3
MAX_CHARTS = 6
MAX_CHART_SERIES = 6
MAX_FONTS = 8
MAX_COLUMNS = 500
DEFAULT_DATE_PATTERN = "yyyy-MM-dd"
DEFAULT_DATETIME_PATTERN = "yyyy-MM-dd HH:mm:ss"
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_ASSET = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/ ]{0,199}$")


class ColumnSpec(DefinitionModel):
    """How one column of the query reads in the documents.

    :param label: the header shown instead of the column name.
    :param format: ``number`` (``decimals``, thousands separator), ``integer``, ``currency``
        (``currency`` ISO code, ``decimals``), ``percent`` (a fraction: 0.25 shows 25.0%),
        ``date``/``datetime`` (``pattern``), or ``text``; without it the value's own type decides.
    :param decimals: digits after the decimal separator (number 2, currency 2, percent 1 by default).
    :param thousands: whether numbers show a thousands separator.
    :param currency: the ISO 4217 code of a ``currency`` column, e.g. ``EUR``.
    :param pattern: a ``date``/``datetime`` pattern such as ``dd MMM yyyy`` (see :mod:`reporting.date_patterns`).
    :param align: ``left``, ``center`` or ``right``; numbers are right-aligned by default.
    :param width: a width hint in characters (PDF column share, XLSX column width).
    :param hidden: left out of the PDF, the e-mail and the XLSX sheet (still usable for groups and charts;
        CSV keeps it unless the CSV is formatted).
    """

    label: str | None = Field(default=None, min_length=1, max_length=200)
    format: ColumnFormat | None = None
    decimals: int | None = Field(default=None, ge=0, le=10)
    thousands: bool = True
    currency: str | None = None
    pattern: str | None = None
    align: Literal["left", "center", "right"] | None = None
    width: float | None = Field(default=None, ge=1, le=200)
    hidden: bool = False

    @field_validator("currency")
    @classmethod
    def _iso_code(cls, value: str | None) -> str | None:
        if value is not None and not _CURRENCY.match(value):
            raise ValueError(f"{quote(value)} is not an ISO 4217 currency code (three capital letters, e.g. EUR)")
        return value

    @field_validator("pattern")
    @classmethod
    def _readable_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                tokens(value)
            except PatternError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _fits_format(self) -> ColumnSpec:
        if self.format == "currency" and self.currency is None:
            raise ValueError("a currency column needs its ISO code: currency: EUR")
        if self.currency is not None and self.format != "currency":
            raise ValueError("currency applies only to format: currency")
        if self.pattern is not None and self.format not in ("date", "datetime"):
            raise ValueError("pattern applies only to format: date or datetime")
        if self.decimals is not None and self.format not in ("number", "currency", "percent"):
            raise ValueError("decimals applies only to format: number, currency or percent")
        return self

    @property
    def effective_decimals(self) -> int:
        """The decimals shown: the column's own, else 2 (number, currency) or 1 (percent)."""
        if self.decimals is not None:
            return self.decimals
        return 1 if self.format == "percent" else 0 if self.format == "integer" else 2

    @property
    def effective_pattern(self) -> str | None:
        """The date pattern shown: the column's own, else the default of its format (None for other formats)."""
        if self.pattern is not None:
            return self.pattern
        return {"date": DEFAULT_DATE_PATTERN, "datetime": DEFAULT_DATETIME_PATTERN}.get(self.format or "")


class ChartSpec(DefinitionModel):
    """One chart over the rows, aggregated while they stream.

    :param type: ``bar``, ``line`` or ``pie``.
    :param title: the chart's title (default: the value columns' labels by the category's).
    :param category: the column whose values are the bars, points or slices.
    :param values: the columns measured per category (a pie takes exactly one).
    :param aggregate: how each value column is combined per category.
    :param top: bar and pie: the largest categories shown, the rest summed as "Other";
        line: the number of categories (in ascending order) shown, the latest ones.
    """

    type: ChartType
    title: str | None = Field(default=None, min_length=1, max_length=200)
    category: str = Field(min_length=1, max_length=200)
    values: list[str] = Field(min_length=1, max_length=MAX_CHART_SERIES)
    aggregate: Aggregate = "sum"
    top: int = Field(default=10, ge=1, le=50)

    @model_validator(mode="after")
    def _pie_has_one_value(self) -> ChartSpec:
        if self.type == "pie" and len(self.values) != 1:
            raise ValueError(f"a pie chart shows one value column; this one names {len(self.values)}")
        return self


class Layout(DefinitionModel):
    """The page: title block, logo, header and footer, size, fonts and number separators.

    :param subtitle: a line under the title.
    :param logo: a PNG or JPEG file under ``include/assets/`` (at most 2 MiB), top right of page 1.
    :param header: text at the top of every page.
    :param footer: text at the bottom of every page, beside "Page X of Y".
    :param page_size: ``A4``, ``A3``, ``Letter`` or ``Legal``.
    :param orientation: ``portrait``, ``landscape``, or ``auto`` (landscape above 6 visible columns).
    :param fonts: font names or TrueType files tried in order for each character before the
        configured and built-in ones (DejaVu Sans, then CJK fonts).
    :param zebra: shade every other row.
    :param show_parameters: list the run's parameters under the title.
    :param decimal_separator: between the units and the decimals of a number.
    :param thousands_separator: between groups of three digits.
    """

    subtitle: str | None = Field(default=None, max_length=300)
    logo: str | None = None
    header: str | None = Field(default=None, max_length=300)
    footer: str | None = Field(default=None, max_length=300)
    page_size: PageSize = "A4"
    orientation: Orientation = "auto"
    fonts: list[str] = Field(default_factory=list, max_length=MAX_FONTS)
    zebra: bool = True
    show_parameters: bool = True
    decimal_separator: Literal[".", ","] = "."
    thousands_separator: Literal[",", ".", " ", "\u00a0", "'", ""] = ","

    @field_validator("logo")
    @classmethod
    def _asset_path(cls, value: str | None) -> str | None:
        if value is None:
            return value
        problem = asset_path_problem(value, (".png", ".jpg", ".jpeg"))
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("fonts")
    @classmethod
    def _font_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name or len(name) > 300 or any(ord(ch) < 32 for ch in name):
                raise ValueError(f"font {quote(name)} must be a font name or file path of 1-300 printable characters")
        return value

    @model_validator(mode="after")
    def _separators_differ(self) -> Layout:
        if self.decimal_separator == self.thousands_separator:
            raise ValueError("decimal_separator and thousands_separator must differ")
        return self


class CsvOptions(DefinitionModel):
    """The CSV file.

    :param encoding: ``utf-8``, or ``utf-8-sig`` (with a byte-order mark, so Excel opens it as UTF-8).
    :param formatted: write the formatted text of each value (as in the PDF) instead of raw
        machine-readable values; hidden columns are then left out too.
    """

    encoding: CsvEncoding = "utf-8"
    formatted: bool = False


class EmailBody(DefinitionModel):
    """The HTML body (with its plain-text alternative) of the mails about a run.

    :param template: a Jinja2 template under ``include/templates/`` (``.html`` or ``.j2``), instead of the built-in one.
    :param preview_rows: how many first rows of the report the mail shows (0 for none).
    """

    template: str | None = None
    preview_rows: int = Field(default=10, ge=0, le=100)

    @field_validator("template")
    @classmethod
    def _template_path(cls, value: str | None) -> str | None:
        if value is None:
            return value
        problem = asset_path_problem(value, (".html", ".j2", ".jinja", ".html.j2"))
        if problem:
            raise ValueError(problem)
        return value


def asset_path_problem(value: str, suffixes: Sequence[str]) -> str | None:
    """What is wrong with a path relative to an ``include/`` folder, if anything.

    :param value: the path as written.
    :param suffixes: the file endings allowed (lower case).
    """
    if not _ASSET.match(value) or ".." in value.split("/") or "//" in value:
        return f"{quote(value)} must be a relative path inside its include/ folder (no '..', no leading '/')"
    if not value.lower().endswith(tuple(suffixes)):
        return f"{quote(value)} must end with {', '.join(suffixes)}"
    return None


class Presentation(DefinitionModel):
    """Everything about how the rendered files read, as the renderers receive it.

    :param columns: per query column, how it reads.
    :param group_by: columns whose changes start a new group with its subtotal (outermost first).
    :param totals: per column, the aggregate shown in subtotals and the grand total.
    :param charts: charts drawn from the rows.
    :param layout: the page.
    :param csv: the CSV file.
    :param email_body: the mail body.
    """

    columns: dict[str, ColumnSpec] = Field(default_factory=dict, max_length=MAX_COLUMNS)
    group_by: list[str] = Field(default_factory=list, max_length=MAX_GROUP_LEVELS)
    totals: dict[str, Aggregate] = Field(default_factory=dict, max_length=MAX_COLUMNS)
    charts: list[ChartSpec] = Field(default_factory=list, max_length=MAX_CHARTS)
    layout: Layout = Field(default_factory=Layout)
    csv: CsvOptions = Field(default_factory=CsvOptions)
    email_body: EmailBody = Field(default_factory=EmailBody)

    @field_validator("group_by")
    @classmethod
    def _unique_groups(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("names a column twice")
        return value

    def named_columns(self) -> list[tuple[str, str]]:
        """Every query column these blocks name, with the field naming it: ``("charts[0].category", "region")``."""
        named: list[tuple[str, str]] = [(f"columns.{name}", name) for name in self.columns]
        named += [(f"group_by[{index}]", name) for index, name in enumerate(self.group_by)]
        named += [(f"totals.{name}", name) for name in self.totals]
        for index, chart in enumerate(self.charts):
            named.append((f"charts[{index}].category", chart.category))
            named += [(f"charts[{index}].values[{i}]", name) for i, name in enumerate(chart.values)]
        return named

    def missing_columns(self, returned: Iterable[str]) -> list[str]:
        """One problem per named column the query did not return, naming the field that names it.

        :param returned: the query's column names.
        """
        have = set(returned)
        return [
            f"{field}: the query returns no column {quote(name)} (it returns {', '.join(sorted(have)) or 'none'})"
            for field, name in self.named_columns()
            if name not in have
        ]

    @property
    def is_plain(self) -> bool:
        """Whether nothing is configured (the defaults only)."""
        return self == Presentation()
