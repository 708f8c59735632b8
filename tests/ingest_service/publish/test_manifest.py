from __future__ import annotations

import json
from pathlib import Path

from ingest_service.publish.manifest import SCHEMA_VERSION, Manifest, manifest_json_schema

DOCS = Path(__file__).resolve().parents[3] / "docs" / "manifest.schema.json"


def test_published_json_schema_matches_the_model() -> None:
    # Regenerate with: ingest-service schema > docs/manifest.schema.json
    assert DOCS.read_text() == manifest_json_schema()


def test_schema_names_its_version_and_required_fields() -> None:
    schema = json.loads(manifest_json_schema())
    assert SCHEMA_VERSION in schema["$id"]
    for field in ("schema_version", "job_id", "source", "shot", "stages", "files", "cost"):
        assert field in schema["required"]
    assert Manifest.model_fields["schema_version"].default == SCHEMA_VERSION
