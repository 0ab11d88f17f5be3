"""Reading YAML safely: duplicate keys are an error, never silently dropped.

PyYAML keeps only the last of two equal keys in a mapping; a file with a
price or a parameter written twice would then mean something its author did
not see. :func:`load_yaml` reports the key and both lines instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from elastic.errors import ManifestError

__all__ = ["load_yaml", "pydantic_errors"]


class _StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise ManifestError(
                    f"{key_node.start_mark.name}:{key_node.start_mark.line + 1}:"
                    f"{key_node.start_mark.column + 1}: duplicate key {key!r} "
                    f"(first at line {first}); expected each key once"
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


# Dates stay strings (validated later, with a field path), so a bad one such
# as 2026-13-01 is reported like any other bad value instead of crashing.
RESOLVERS_WITHOUT_DATES = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.yaml_implicit_resolvers = RESOLVERS_WITHOUT_DATES


def load_yaml(source: str | Path, *, name: str | None = None) -> Any:
    """Parse one YAML document from a path (or text, with ``name`` for messages).

    Examples
    --------
    >>> load_yaml("a: 1\\nb: 2026-01-19", name="inline")
    {'a': 1, 'b': '2026-01-19'}
    >>> load_yaml("a: 1\\na: 2", name="inline")
    Traceback (most recent call last):
    ...
    elastic.errors.ManifestError: inline:2:1: duplicate key 'a' (first at line 1); ...
    """
    if isinstance(source, Path):
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as error:
            raise ManifestError(f"{source}: cannot be read ({error.strerror})") from None
        name = name or str(source)
    else:
        text = source
    loader = _StrictLoader(text)
    loader.name = name or "<string>"
    try:
        return loader.get_single_data()
    except (yaml.YAMLError, ValueError) as error:
        raise ManifestError(f"{loader.name}: not valid YAML: {error}") from None
    finally:
        loader.dispose()


def pydantic_errors(name: str, errors: list[Any]) -> ManifestError:
    """One :class:`ManifestError` listing every pydantic error with its field path and value."""
    lines = [f"{name}: {len(errors)} error(s)"]
    for error in errors:
        path = ".".join(str(part) for part in error["loc"])
        lines.append(f"  {path}={error['input']!r}: {error['msg']}")
    return ManifestError("\n".join(lines))
