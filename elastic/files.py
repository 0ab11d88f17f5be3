"""Reading a user's files safely: regular files only, of a bounded size, decoded with a location.

A path given as a manifest or a trace may name a FIFO (reading it waits
for a writer forever), a device such as ``/dev/zero`` (it never ends), a
folder or a file of gigabytes. :func:`read_bytes` opens the path without
blocking, refuses anything but a regular file and reads at most a limit;
:func:`read_text` also decodes UTF-8 and says on which line and column a
byte is not UTF-8; :func:`gunzip` bounds what a compressed file expands to.
The limits are the constants of this module, named in the messages.

Examples
--------
>>> read_bytes("/dev/null", limit=MAX_MANIFEST_BYTES, owner="manifest")
Traceback (most recent call last):
...
elastic.files.FileError: manifest: path='/dev/null' is invalid; expected a regular file (it is ...)
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import zlib
from pathlib import Path
from typing import Any

from elastic.errors import ParameterError

__all__ = [
    "MAX_MANIFEST_BYTES",
    "MAX_TRACE_BYTES",
    "FileError",
    "decode",
    "gunzip",
    "position",
    "read_bytes",
    "read_text",
]

#: Largest manifest file read (1 MiB; a Kubernetes object is at most about 1.5 MiB in etcd).
MAX_MANIFEST_BYTES = 2**20
#: Largest trace file read, after decompression (256 MiB: about 20 million CSV lines).
MAX_TRACE_BYTES = 256 * 2**20

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class FileError(ParameterError):
    """A file that is not read: not a regular file, too large, unreadable or not UTF-8.

    ``line`` and ``column`` (from 1) say where in the file the problem is, when it is inside it.
    """

    def __init__(
        self,
        name: str,
        value: Any,
        expected: str,
        *,
        owner: str | None = None,
        line: int = 1,
        column: int = 1,
    ) -> None:
        super().__init__(name, value, expected, owner=owner)
        self.line = line
        self.column = column

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.name, self.value, self.expected, self.owner, self.line,
                           self.column))  # fmt: skip


def _rebuild(
    name: str, value: Any, expected: str, owner: str | None, line: int, column: int
) -> FileError:
    return FileError(name, value, expected, owner=owner, line=line, column=column)


def _size(count: int) -> str:
    return f"{count / 2**20:.3g} MiB" if count >= 2**20 else f"{count} bytes"


def _limit_name(limit: int) -> str:
    names = {MAX_MANIFEST_BYTES: "MAX_MANIFEST_BYTES", MAX_TRACE_BYTES: "MAX_TRACE_BYTES"}
    return f"{_size(limit)}, elastic.files.{names[limit]}" if limit in names else _size(limit)


def read_bytes(path: str | Path, *, limit: int, owner: str) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises :class:`FileError` for a missing or unreadable file, anything that
    is not a regular file (without waiting on a FIFO) and a file larger than
    ``limit``.
    """
    name = str(path)
    try:
        descriptor = os.open(name, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise FileError("path", name, f"a readable file ({error.strerror})", owner=owner) from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):  # checked before fdopen, which refuses a folder itself
        os.close(descriptor)
        for test, kind in _KINDS:
            if test(mode):
                raise FileError("path", name, f"a regular file (it is {kind})", owner=owner)
        raise FileError("path", name, "a regular file", owner=owner)
    with os.fdopen(descriptor, "rb") as file:
        os.set_blocking(descriptor, True)
        try:
            data = file.read(limit + 1)
        except OSError as error:
            raise FileError(
                "path", name, f"a readable file ({error.strerror})", owner=owner
            ) from None
    if len(data) > limit:
        raise FileError(
            "path", name, f"a file of at most {_limit_name(limit)} (this one is larger)",
            owner=owner,
        )  # fmt: skip
    return data


def gunzip(data: bytes, path: str | Path, *, limit: int, owner: str) -> bytes:
    """``data`` decompressed (gzip), at most ``limit`` bytes of it.

    Examples
    --------
    >>> gunzip(gzip.compress(b"time_s,requests"), "t.csv.gz", limit=100, owner="trace")
    b'time_s,requests'
    >>> gunzip(b"not gzip", "t.csv.gz", limit=100, owner="trace")
    Traceback (most recent call last):
    ...
    elastic.files.FileError: trace: path='t.csv.gz' is invalid; expected a gzip file (Not a ...)
    """
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as file:
            out: bytes = file.read(limit + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise FileError("path", str(path), f"a gzip file ({error})", owner=owner) from None
    if len(out) > limit:
        raise FileError(
            "path", str(path),
            f"a file of at most {_limit_name(limit)} once decompressed (this one is larger)",
            owner=owner,
        )  # fmt: skip
    return out


def read_text(path: str | Path, *, limit: int, owner: str) -> str:
    """The UTF-8 text of the regular file ``path`` (see :func:`read_bytes`).

    A byte that is not UTF-8 is reported with its line and column (in
    :attr:`FileError.line` and :attr:`FileError.column` too), never with the
    text around it.
    """
    return decode(read_bytes(path, limit=limit, owner=owner), path, owner=owner)


def decode(data: bytes, path: str | Path, *, owner: str) -> str:
    """``data`` as UTF-8 text, or a :class:`FileError` locating the first byte that is not.

    Examples
    --------
    >>> decode(b"a: 1\\nb: \\xff", "m.yaml", owner="manifest")
    Traceback (most recent call last):
    ...
    elastic.files.FileError: manifest: path='m.yaml' is invalid; expected UTF-8 text (byte 0xff ...
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start].decode("utf-8")
        line, column = position(before, len(before))
        raise FileError(
            "path",
            str(path),
            f"UTF-8 text (byte 0x{data[error.start]:02x} at line {line}, column {column} is not)",
            owner=owner,
            line=line,
            column=column,
        ) from None


def position(text: str, index: int) -> tuple[int, int]:
    """Line and column (from 1) of character ``index`` of ``text``.

    Examples
    --------
    >>> position("ab\\ncd", 4)
    (2, 2)
    """
    before = text[:index]
    line = before.count("\n") + 1
    return line, index - (before.rfind("\n") + 1) + 1
