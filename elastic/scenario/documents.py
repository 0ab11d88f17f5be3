"""YAML documents with the position of every value, and problems reported with them.

A manifest file (or a folder of them) is read into :class:`Document` objects:
the plain data of each ``---``-separated document plus, for every field path,
the line and column where its value starts, so that any later check can say
``file:line:col: spec.task.resources.requests.memory=256: ...``. Duplicate
keys are problems, never silently dropped; when a document repeats
``apiVersion`` or ``kind`` it is most likely two documents pasted together
without ``---``, and the message says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from elastic.errors import ManifestError
from elastic.files import MAX_MANIFEST_BYTES, FileError, read_text
from elastic.yamlfile import (
    RESOLVERS_WITHOUT_DATES,
    BoundedLoader,
    duplicate_keys,
    reader_problem,
)

__all__ = [
    "Document",
    "Problem",
    "ProblemList",
    "control_characters",
    "nodes",
    "read_documents",
    "shell_syntax",
]

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a manifest, where it is and what was expected."""

    source: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ProblemList(ManifestError):
    """Every problem found, at once; ``problems`` has them one by one."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(set(problems))
        count = len(self.problems)
        lines = [f"{count} problem{'s' if count != 1 else ''}:"]
        lines += [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[Any, ...]:
        return (ProblemList, (self.problems,))


@dataclass
class Document:
    """One YAML document: its data and where each of its values starts."""

    source: str
    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", "")) if isinstance(self.data, Mapping) else ""

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", "")) if isinstance(self.data, Mapping) else ""

    @property
    def name(self) -> str:
        metadata = self.data.get("metadata") if isinstance(self.data, Mapping) else None
        return str(metadata.get("name", "")) if isinstance(metadata, Mapping) else ""

    @property
    def line(self) -> int:
        return self.marks.get((), (1, 1))[0]

    def where(self, path: Path_) -> tuple[int, int]:
        """Line and column of ``path``, or of its nearest ancestor that has one."""
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.marks:
                return self.marks[path[:cut]]
        return (1, 1)

    def problem(self, path: Path_, message: str) -> Problem:
        line, column = self.where(path)
        dotted = ".".join(str(p) for p in path)
        return Problem(self.source, line, column, dotted, message)

    def get(self, path: Path_, default: Any = None) -> Any:
        value = self.data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return default
        return value


class _Composer(BoundedLoader):
    """Dates stay strings; mappings are built without deduplication checks (done on nodes)."""


_Composer.yaml_implicit_resolvers = RESOLVERS_WITHOUT_DATES


def _written_key(node: yaml.Node) -> Any:
    return node.value if isinstance(node, yaml.ScalarNode) else str(node)


def _walk(
    node: yaml.Node,
    path: Path_,
    marks: dict[Path_, tuple[int, int]],
    found: list[Problem],
    source: str,
) -> None:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        repeated = set()
        for key_node, key, message in duplicate_keys(node, _written_key):
            repeated.add(id(key_node))
            dotted = ".".join(str(p) for p in (*path, key))
            mark = key_node.start_mark
            found.append(Problem(source, mark.line + 1, mark.column + 1, dotted, message))
        for key_node, value_node in node.value:
            if id(key_node) not in repeated:
                _walk(value_node, (*path, _written_key(key_node)), marks, found, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), marks, found, source)


_DOCUMENT_KEYS = ("apiVersion", "kind")


def _split_pasted(node: yaml.Node, source: str, problems: list[Problem]) -> list[yaml.Node]:
    """A top-level mapping that repeats ``apiVersion`` or ``kind`` is several documents
    pasted together without ``---``: split it there, and say so once per seam."""
    if not isinstance(node, yaml.MappingNode):
        return [node]
    parts: list[list[tuple[yaml.Node, yaml.Node]]] = [[]]
    seen: set[str] = set()
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key in _DOCUMENT_KEYS and key in seen:
            first = parts[-1][0][0].start_mark.line + 1
            problems.append(
                Problem(
                    source,
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                    "",
                    f"a second document starts here without '---' (the first starts at line "
                    f"{first}; YAML would keep only the last {key!r}); put a line '---' "
                    "before it",
                )
            )
            parts.append([])
            seen = set()
        if isinstance(key, str):
            seen.add(key)
        parts[-1].append((key_node, value_node))
    if len(parts) == 1:
        return [node]
    return [
        yaml.MappingNode(node.tag, part, part[0][0].start_mark, part[-1][1].end_mark)
        for part in parts
    ]


def _documents_of(text: str, source: str) -> tuple[list[Document], list[Problem]]:
    documents: list[Document] = []
    problems: list[Problem] = []
    try:
        loader = _Composer(text)
    except yaml.reader.ReaderError as error:  # raised on the first characters already
        line, column, message = reader_problem(error, text)
        return documents, [Problem(source, line, column, "", f"not valid YAML: {message}")]
    loader.name = source
    empty = True
    try:
        while loader.check_node():
            root = loader.get_node()
            empty = False
            for node in _split_pasted(root, source, problems) if root is not None else ():
                marks: dict[Path_, tuple[int, int]] = {}
                _walk(node, (), marks, problems, source)
                data = loader.construct_document(node)
                if data is not None:
                    documents.append(Document(source, data, marks))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(Problem(source, line, column, "", f"not valid YAML: {error.problem}"))
        empty = False
    except yaml.reader.ReaderError as error:
        line, column, message = reader_problem(error, text)
        problems.append(Problem(source, line, column, "", f"not valid YAML: {message}"))
        empty = False
    finally:
        loader.dispose()
    if empty or not (documents or problems):
        problems.append(
            Problem(source, 1, 1, "", "no YAML document (the text is empty or only comments); "
                    "expected at least one document with apiVersion, kind, metadata and spec")
        )  # fmt: skip
    return documents, problems


def read_documents(*sources: str | Path) -> tuple[list[Document], list[Problem]]:
    """The documents of files, folders (their ``*.yaml``/``*.yml``, sorted) or YAML text."""
    documents: list[Document] = []
    problems: list[Problem] = []
    for source in sources:
        for name, text in _texts(source, problems):
            found, wrong = _documents_of(text, name)
            documents += found
            problems += wrong
    return documents, problems


def _texts(source: str | Path, problems: list[Problem]) -> Iterator[tuple[str, str]]:
    text = isinstance(source, str) and ("\n" in source or ":" in source)
    if text and not _exists(source):
        yield "<text>", str(source)
        return
    path = Path(source)
    files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
    if path.is_dir() and not files:
        problems.append(Problem(str(path), 1, 1, "", "no *.yaml or *.yml files in this folder"))
    for file in files:
        try:
            yield str(file), read_text(file, limit=MAX_MANIFEST_BYTES, owner="manifest")
        except FileError as error:
            problems.append(
                Problem(str(file), error.line, error.column, "",
                        f"cannot be read; expected {error.expected}")
            )  # fmt: skip


def _exists(name: str | Path) -> bool:
    try:
        return Path(name).exists()
    except (OSError, ValueError):  # a name too long, or with a NUL: text, not a path
        return False


_SHELL = re.compile(r"\$\(|`[^`]*`|\$\{[^}]*\}")
# a key is a name: an environment variable in one ($HOME) is shell syntax too
_SHELL_KEY = re.compile(r"\$\(|`|\$\{|\$[A-Za-z_]")


def nodes(data: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every value of a document's data with its field path, the data itself first.

    Examples
    --------
    >>> [path for path, _ in nodes({"a": [1, {"b": 2}]})]
    [(), ('a',), ('a', 0), ('a', 1), ('a', 1, 'b')]
    """
    yield path, data
    if isinstance(data, Mapping):
        for key, item in data.items():
            yield from nodes(item, (*path, key))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from nodes(item, (*path, i))


# C0 and C1 control characters and DEL: through YAML escapes ("\x1b[31m", "\n") they would
# reach names printed to a terminal; text values may still hold tabs and line breaks
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_characters(document: Document) -> list[Problem]:
    """Keys and names holding control characters, and other text holding any but tabs and
    line breaks (YAML escapes let them in after the file's own bytes were checked)."""
    found = []
    for path, value in nodes(document.data):
        if isinstance(value, Mapping):
            found += [
                document.problem((*path, key), f"the key {key!r} holds a control character")
                for key in value
                if isinstance(key, str) and _CONTROL.search(key)
            ]
        elif isinstance(value, str):
            pattern = _CONTROL if path[-1:] == ("name",) else _CONTROL_IN_TEXT
            if pattern.search(value):
                found.append(
                    document.problem(
                        path, f"{value!r} holds a control character; expected printable text"
                    )
                )
    return found


def shell_syntax(document: Document) -> list[Problem]:
    """Values holding unresolved shell syntax (``$(...)``, backticks, ``${...}``), and keys
    holding any (``$HOME`` too)."""
    found = []
    for path, value in nodes(document.data):
        if isinstance(value, str) and _SHELL.search(value):
            found.append(
                document.problem(
                    path,
                    f"{value!r} is shell syntax, not a value; expected the value itself "
                    "(resolve it before loading, or use a Secret or ConfigMap reference)",
                )
            )
        elif isinstance(value, Mapping):
            found += [
                document.problem(
                    (*path, key),
                    f"the key {key!r} is shell syntax, not a name; expected the name "
                    "itself (resolve it before loading)",
                )
                for key in value
                if isinstance(key, str) and _SHELL_KEY.search(key)
            ]
    return found
