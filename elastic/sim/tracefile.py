"""Reading the CSV files of traces: bounded, and every problem with the file and the line.

A trace is a CSV file (``.csv``, or ``.csv.gz``) with a header of column
names and one row of numbers per line. :func:`read_table` reads it as
:mod:`elastic.files` reads any user file (a regular file, at most
:data:`~elastic.files.MAX_TRACE_BYTES` once decompressed) and reports a text
cell, a row with too few or too many cells, a header alone or a corrupt
gzip with the file and the line. A file whose first line is not a header
of names (it is not a trace) is never echoed in a message.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "t.csv").write_text("time_s,requests\\n0,5\\n60,oops\\n")
>>> read_table(folder / "t.csv", ("time_s", "requests"), owner="TraceReplay")
Traceback (most recent call last):
...
elastic.files.FileError: TraceReplay: path='.../t.csv' is invalid; expected numbers in every cell
(line 3, column 'requests': 'oops' is not a number)
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from elastic.files import MAX_TRACE_BYTES, FileError, decode, gunzip, read_bytes

__all__ = ["Table", "read_table"]

_NAME = re.compile(r"[A-Za-z_][\w .()/-]*")


@dataclass(frozen=True)
class Table:
    """The columns of a CSV trace, and the line of the file each row comes from."""

    path: str
    header: list[str]
    values: NDArray[np.float64]
    lines: NDArray[np.int64]

    def column(self, name: str) -> NDArray[np.float64]:
        return self.values[:, self.header.index(name)]

    def error(self, expected: str, *, row: int, owner: str) -> FileError:
        """A :class:`FileError` about row ``row`` (from 0), naming its line in the file."""
        line = int(self.lines[row])
        return FileError("path", self.path, f"{expected} (line {line})", owner=owner, line=line)


def read_table(path: str | Path, required: tuple[str, ...], *, owner: str) -> Table:
    """The rows of numbers of the CSV file ``path``, which must have the columns ``required``."""
    name = str(path)
    data = read_bytes(path, limit=MAX_TRACE_BYTES, owner=owner)
    if name.endswith(".gz"):
        data = gunzip(data, path, limit=MAX_TRACE_BYTES, owner=owner)
    text = decode(data, path, owner=owner)
    lines = text.splitlines()
    header = [cell.strip() for cell in lines[0].split(",")] if lines else []
    if not header or not all(_NAME.fullmatch(cell) for cell in header):
        raise FileError(
            "path", name,
            "a CSV file whose first line is a header of column names, such as "
            + ",".join(required) + " (the first line is not)",
            owner=owner,
        )  # fmt: skip
    if len(set(header)) != len(header):
        again = next(cell for i, cell in enumerate(header) if cell in header[:i])
        raise FileError(
            "path", name, f"each column named once (line 1 names {again!r} twice)",
            owner=owner, line=1,
        )  # fmt: skip
    for column in required:
        if column not in header:
            raise FileError(
                "path", name, f"a column {column!r} (the columns are {', '.join(header)})",
                owner=owner,
            )  # fmt: skip
    body = [(i, line) for i, line in enumerate(lines[1:], start=2)
            if line.strip() and not line.lstrip().startswith("#")]  # fmt: skip
    if not body:
        raise FileError("path", name, "rows of numbers after the header (there are none)",
                        owner=owner)  # fmt: skip
    numbers = np.array([i for i, _ in body], dtype=np.int64)
    try:
        # the rows as found, one per line whatever the line breaks (CR alone too)
        rows = io.StringIO("\n".join(line for _, line in body))
        values = np.loadtxt(rows, delimiter=",", ndmin=2)
    except ValueError:
        _locate(body, header, name, owner)
        raise  # pragma: no cover  (_locate always raises when loadtxt fails)
    if values.shape[1] != len(header):  # a header with more names than any row has cells
        _locate(body, header, name, owner)
    finite = np.isfinite(values)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        line = int(numbers[row])
        raise FileError(
            "path", name,
            f"finite numbers (line {line}, column {header[column]!r}: {values[row, column]})",
            owner=owner, line=line,
        )  # fmt: skip
    return Table(name, header, values, numbers)


def _locate(body: list[tuple[int, str]], header: list[str], name: str, owner: str) -> None:
    """Raise the :class:`FileError` of the first row that is not ``len(header)`` numbers."""
    for line, text in body:
        cells = text.split(",")
        if len(cells) != len(header):
            raise FileError(
                "path", name,
                f"{len(header)} cells in every row, one per column of the header (line "
                f"{line} has {len(cells)})",
                owner=owner, line=line,
            )  # fmt: skip
        for column, cell in zip(header, cells, strict=True):
            try:
                if "_" in cell:  # Python reads 6_0 as 60; a CSV number has no underscore
                    raise ValueError(cell)
                float(cell)
            except ValueError:
                shown = cell.strip()
                shown = shown if len(shown) <= 20 else shown[:17] + "..."
                raise FileError(
                    "path", name,
                    f"numbers in every cell (line {line}, column {column!r}: {shown!r} is not "
                    "a number)",
                    owner=owner, line=line,
                ) from None  # fmt: skip
    raise FileError("path", name, "rows of numbers, one per line", owner=owner)
