"""What every renderer shares: the run's context, the result, the Renderer base class and its registry.

Every renderer consumes rows batch by batch and never holds more than the current batch, so one
query result can feed all formats in a single pass (see :func:`render_all`).
"""

from __future__ import annotations

import abc
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, get_args

from reporting.definition.base import ReportFormat
from reporting.definition.presentation import Presentation

log = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = get_args(ReportFormat)
"""The format names a renderer exists for, in the order reports list them."""
# format name -> renderer class; each renderer module adds its class when it is imported
_RENDERERS: dict[str, type[Renderer]] = {}


@dataclass(frozen=True)
class RenderContext:
    """Report-level metadata shown alongside the data.

    :param title: Human-readable report title.
    :param report_id: Identifier printed in the PDF footer.
    :param parameters: Parameters the report was run with, listed on the PDF first page.
    :param generated_at: Timezone-aware generation timestamp.
    :param presentation: How the files read: column formats, groups, totals, charts, layout.
    :param source: The definition file, named in errors about the presentation blocks.
    """

    title: str
    report_id: str
    parameters: Mapping[str, Any]
    generated_at: datetime
    presentation: Presentation = field(default_factory=Presentation)
    source: str = ""

    def __post_init__(self) -> None:
        if self.generated_at.utcoffset() is None:
            raise ValueError("generated_at must be timezone-aware")


@dataclass(frozen=True)
class RenderResult:
    """Description of a fully written report file.

    :param path: Location of the file.
    :param format: One of :data:`FORMATS`.
    :param rows: Number of data rows written, header excluded; ``None`` for a file an engine rendered.
    :param bytes: File size in bytes.
    :param sha256: Hex SHA-256 digest of the file contents.
    """

    path: Path
    format: str
    rows: int | None
    bytes: int
    sha256: str


class Renderer(abc.ABC):
    """Base class for streaming report writers; as a context manager it closes on success, aborts on error.

    :param path: Destination file; overwritten if it exists.
    :param columns: Column names, one per value in every row.
    :param context: Report metadata.
    """

    format: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.format not in FORMATS:
            raise TypeError(f"{cls.__name__} renders {cls.format!r}, which is not one of {', '.join(FORMATS)}")
        _RENDERERS[cls.format] = cls

    def __init__(self, path: Path, columns: Sequence[str], context: RenderContext) -> None:
        if not columns:
            raise ValueError("A report needs at least one column")
        self.path = Path(path)
        self.columns = tuple(str(column) for column in columns)
        self.context = context
        self._rows = 0
        self._finished = False
        self._result: RenderResult | None = None

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write_batch(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append rows to the file.

        :param rows: Row tuples as returned by a DB-API cursor, one value per column.
        """
        if self._finished:
            raise RuntimeError(f"{self.format} renderer for {self.path} is already finished")
        width = len(self.columns)
        for row in rows:
            if len(row) != width:
                raise ValueError(f"Row has {len(row)} values but the report has {width} columns: {row!r}")
        self._write_rows(rows)
        self._rows += len(rows)

    def close(self) -> RenderResult:
        """Finish the file (removing it if that fails) and describe it; later calls return the same result."""
        if self._result is not None:
            return self._result
        if self._finished:
            raise RuntimeError(f"{self.format} renderer for {self.path} was aborted")
        self._finished = True
        try:
            self._finish()
            size, digest = _size_and_sha256(self.path)
        except BaseException:
            self.path.unlink(missing_ok=True)
            raise
        self._result = RenderResult(self.path, self.format, self._rows, size, digest)
        return self._result

    def abort(self) -> None:
        """Release open handles and delete the file, finished or not."""
        if not self._finished:
            self._finished = True
            try:
                self._release()
            except Exception:
                # abort() runs while another error propagates; a failed release must not replace it.
                log.warning("Could not release %s renderer for %s", self.format, self.path, exc_info=True)
        self._result = None
        self.path.unlink(missing_ok=True)

    @abc.abstractmethod
    def _write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Write already validated rows.

        :param rows: Rows whose length matches the column count.
        """

    @abc.abstractmethod
    def _finish(self) -> None:
        """Flush everything to ``self.path`` and release all handles."""

    @abc.abstractmethod
    def _release(self) -> None:
        """Release all handles without needing a usable file afterwards."""


def _size_and_sha256(path: Path) -> tuple[int, str]:
    """Size and SHA-256 hex digest of a file, read in chunks.

    :param path: File to inspect.
    """
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def open_renderer(fmt: str, path: Path, columns: Sequence[str], context: RenderContext, **options: Any) -> Renderer:
    """Create the renderer for a format name.

    :param fmt: Format name, case-insensitive; one of :data:`FORMATS`.
    :param path: Destination file.
    :param columns: Column names.
    :param context: Report metadata.
    :param options: Format-specific keyword arguments, e.g. ``rows_per_page`` for PDF.
    """
    try:
        renderer_class = _RENDERERS[fmt.lower()]
    except KeyError:
        raise ValueError(f"Unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}") from None
    return renderer_class(path, columns, context, **options)


def render_all(renderers: Sequence[Renderer], batches: Iterable[Sequence[Sequence[Any]]]) -> list[RenderResult]:
    """Feed every renderer from one pass over the batches; on any failure abort all (finished files too) and re-raise.

    :param renderers: Renderers to feed; results keep this order.
    :param batches: Row batches, e.g. successive ``cursor.fetchmany()`` results.
    """
    try:
        for batch in batches:
            for renderer in renderers:
                renderer.write_batch(batch)
        return [renderer.close() for renderer in renderers]
    except BaseException:
        for renderer in renderers:
            renderer.abort()
        raise
