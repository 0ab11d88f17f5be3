"""Reading YAML safely: duplicate keys are an error, never silently dropped; aliases and
nesting are bounded.

PyYAML keeps only the last of two equal keys in a mapping; a file with a
price or a parameter written twice would then mean something its author did
not see. :func:`load_yaml` reports the key and both lines instead.

A few hundred bytes of aliases that refer to aliases (an "alias bomb")
expand to billions of values, an alias inside the value it names never
ends, and thousands of nested brackets overflow the parser's stack:
:class:`BoundedLoader`, the base of every loader of elastic, refuses them
with the line and column, before expanding anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

from elastic.errors import ManifestError
from elastic.files import MAX_MANIFEST_BYTES, FileError, position, read_text

__all__ = [
    "MAX_ALIAS_VALUES",
    "MAX_DEPTH",
    "BoundedLoader",
    "duplicate_keys",
    "load_yaml",
    "pydantic_errors",
]

#: Most values that the aliases of one YAML document may add when expanded.
MAX_ALIAS_VALUES = 100_000
#: Deepest nesting of mappings and lists in a YAML document.
MAX_DEPTH = 100


class BoundedLoader(yaml.SafeLoader):
    """A safe loader that refuses recursive aliases, alias expansion beyond
    :data:`MAX_ALIAS_VALUES` values and nesting beyond :data:`MAX_DEPTH` levels.

    Examples
    --------
    >>> load_yaml("a: &a [*a]", name="inline")
    Traceback (most recent call last):
    ...
    elastic.errors.ManifestError: inline:1:8: not valid YAML: the alias *a is inside the value ...
    """

    def compose_document(self) -> Any:
        self._depth = 0
        self._expanded = 0
        self._open: set[str] = set()
        self._sizes: dict[int, int] = {}
        return super().compose_document()

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent):
            anchor = event.anchor
            if anchor in self._open:
                raise ComposerError(
                    None, None,
                    f"the alias *{anchor} is inside the value it names (a recursive alias); "
                    "expected an alias to a value defined before it",
                    event.start_mark,  # type: ignore[arg-type]
                )  # fmt: skip
            if anchor in self.anchors:
                self._expanded += self._size(self.anchors[anchor])
                if self._expanded > MAX_ALIAS_VALUES:
                    raise ComposerError(
                        None, None,
                        f"the aliases of this document expand to more than {MAX_ALIAS_VALUES} "
                        "values (elastic.yamlfile.MAX_ALIAS_VALUES); expected fewer aliases",
                        event.start_mark,  # type: ignore[arg-type]
                    )  # fmt: skip
            return super().compose_node(parent, index)
        anchor = event.anchor if isinstance(event, ScalarEvent | CollectionStartEvent) else None
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ComposerError(
                None, None,
                f"values nested more than {MAX_DEPTH} levels deep (elastic.yamlfile.MAX_DEPTH); "
                "expected a flatter document",
                event.start_mark,
            )  # fmt: skip
        if anchor is not None:
            self._open.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open.discard(anchor)

    def _size(self, node: yaml.Node) -> int:
        """Values in ``node`` once its aliases are expanded (computed once per node)."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.MappingNode):
            size = 1 + sum(self._size(k) + self._size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._size(item) for item in node.value)
        else:
            size = 1
        self._sizes[id(node)] = size
        return size


def reader_problem(error: yaml.reader.ReaderError, text: str) -> tuple[int, int, str]:
    """Line, column and message of a character PyYAML refuses (NUL, other control characters)."""
    line, column = position(text, error.position)
    return line, column, f"character #x{error.character:04x} is not allowed in YAML"


def duplicate_keys(
    node: yaml.MappingNode, key_of: Callable[[yaml.Node], Any]
) -> Iterator[tuple[yaml.Node, Any, str]]:
    """The keys of ``node`` given before in it: the key's node, the key, and what to say.

    ``key_of`` tells two keys apart (the constructed value, or the scalar as written).
    """
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = key_of(key_node)
        if key in seen:
            first = seen[key].start_mark.line + 1
            yield (
                key_node,
                key,
                f"duplicate key {key!r} (first at line {first}); expected each key once",
            )
        else:
            seen[key] = key_node


class _StrictLoader(BoundedLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        for key_node, _, message in duplicate_keys(
            node, lambda key_node: self.construct_object(key_node, deep=deep)
        ):
            mark = key_node.start_mark
            raise ManifestError(f"{mark.name}:{mark.line + 1}:{mark.column + 1}: {message}")
        return super().construct_mapping(node, deep=deep)


# Dates stay strings (validated later, with a field path), so a bad one such
# as 2026-13-01 is reported like any other bad value instead of crashing.
RESOLVERS_WITHOUT_DATES = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# YAML 1.2 floats that YAML 1.1 reads as strings: an exponent without a dot or without a
# sign (1e-9, 1E3, 1.5e3, .5e3); 1.1 wants 1.0e+3
_FLOAT_12 = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+$")
for _first in "-+.0123456789":
    RESOLVERS_WITHOUT_DATES.setdefault(_first, [])
    RESOLVERS_WITHOUT_DATES[_first] = [
        *RESOLVERS_WITHOUT_DATES[_first],
        ("tag:yaml.org,2002:float", _FLOAT_12),
    ]
_StrictLoader.yaml_implicit_resolvers = RESOLVERS_WITHOUT_DATES


def load_yaml(source: str | Path, *, name: str | None = None) -> Any:
    """Parse one YAML document from a path (or text, with ``name`` for messages).

    Examples
    --------
    >>> load_yaml("a: 1\\nb: 2026-01-19\\nc: 1e-3", name="inline")
    {'a': 1, 'b': '2026-01-19', 'c': 0.001}
    >>> load_yaml("a: 1\\na: 2", name="inline")
    Traceback (most recent call last):
    ...
    elastic.errors.ManifestError: inline:2:1: duplicate key 'a' (first at line 1); ...
    """
    if isinstance(source, Path):
        try:
            text = read_text(source, limit=MAX_MANIFEST_BYTES, owner="load_yaml")
        except FileError as error:
            where = f"{source}:{error.line}:{error.column}" if error.line > 1 or error.column > 1 \
                else str(source)  # fmt: skip
            raise ManifestError(f"{where}: cannot be read; expected {error.expected}") from None
        name = name or str(source)
    else:
        text = source
    where = name or "<string>"
    try:
        loader = _StrictLoader(text)
    except yaml.reader.ReaderError as error:  # raised on the first characters already
        line, column, message = reader_problem(error, text)
        raise ManifestError(f"{where}:{line}:{column}: not valid YAML: {message}") from None
    loader.name = where
    try:
        return loader.get_single_data()
    except yaml.reader.ReaderError as error:
        line, column, message = reader_problem(error, text)
        raise ManifestError(f"{where}:{line}:{column}: not valid YAML: {message}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        at = f"{mark.line + 1}:{mark.column + 1}:" if mark else ""
        raise ManifestError(f"{where}:{at} not valid YAML: {error.problem}") from None
    except (yaml.YAMLError, ValueError) as error:
        raise ManifestError(f"{where}: not valid YAML: {error}") from None
    finally:
        loader.dispose()


def pydantic_errors(name: str, errors: list[Any]) -> ManifestError:
    """One :class:`ManifestError` listing every pydantic error with its field path and value."""
    lines = [f"{name}: {len(errors)} error(s)"]
    for error in errors:
        path = ".".join(str(part) for part in error["loc"])
        lines.append(f"  {path}={error['input']!r}: {error['msg']}")
    return ManifestError("\n".join(lines))
