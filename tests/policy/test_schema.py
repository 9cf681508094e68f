from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from icap_dlp._yaml import load_yaml_file
from icap_dlp.policy import json_schema

REPO = Path(__file__).resolve().parents[2]


def test_published_schema_is_current() -> None:
    published = json.loads((REPO / "schemas" / "policy.schema.json").read_text())
    assert published == json_schema(), "regenerate: python -m icap_dlp.policy._schema > schemas/policy.schema.json"


def test_shipped_policies_validate_against_the_published_schema() -> None:
    schema = json.loads((REPO / "schemas" / "policy.schema.json").read_text())
    files = sorted((REPO / "policies").rglob("*.yaml"))
    assert files
    for f in files:
        jsonschema.validate(load_yaml_file(f).data, schema)


def test_schema_rejects_unknown_keys() -> None:
    schema = json_schema()
    bad = {"version": 1, "name": "x", "rules": [{"id": "a", "action": "block", "colour": "red"}]}
    try:
        jsonschema.validate(bad, schema)
    except jsonschema.ValidationError as exc:
        assert "colour" in str(exc)
    else:
        raise AssertionError("unknown key accepted")
