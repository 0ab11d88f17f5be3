"""JSON Schema of the manifest kinds (for editors) and YAML out of loaded manifests.

Run ``python -m elastic.scenario.schema docs/schema`` to write one
``<Kind>.schema.json`` per kind; the tests check the committed files are
current.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from elastic.scenario.manifests import Manifests
from elastic.scenario.models import KINDS

__all__ = ["dump", "schemas", "write_schemas"]


def schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of each kind, by kind, as the files spell the fields.

    Examples
    --------
    >>> sorted(schemas())[:3]
    ['CapacityProvider', 'Cluster', 'ClusterAutoscaler']
    >>> schemas()["Task"]["required"]
    ['apiVersion', 'kind', 'metadata', 'spec']
    """
    out = {}
    for kind, (api, model) in sorted(KINDS.items()):
        schema = model.model_json_schema(by_alias=True)
        schema["$id"] = f"https://elastic.dev/schema/{kind}.schema.json"
        schema["description"] = f"{kind} ({api})"
        out[kind] = schema
    return out


def write_schemas(folder: str | Path) -> list[Path]:
    """Write ``<Kind>.schema.json`` files into ``folder``."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, schema in schemas().items():
        path = target / f"{kind}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def dump(manifests: Manifests) -> str:
    """The loaded objects as YAML documents (what was written, defaults left out).

    Loading the text gives objects equal to those of ``manifests``.
    """
    documents = []
    for kind in sorted(manifests.objects):
        for name in sorted(manifests.objects[kind]):
            _, model = manifests.objects[kind][name]
            if hasattr(model, "to_manifest"):
                documents.append(model.to_manifest())
            else:
                documents.append(model.model_dump(mode="json", by_alias=True, exclude_unset=True))
    return yaml.safe_dump_all(documents, sort_keys=False)


if __name__ == "__main__":  # pragma: no cover
    for path in write_schemas(sys.argv[1] if len(sys.argv) > 1 else "docs/schema"):
        print(path)
