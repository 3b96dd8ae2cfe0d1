"""The JSON Schemas describe the documents the reader accepts: the shipped bundles validate.

A small validator for the subset of JSON Schema 2020-12 the schemas use keeps this test free of
extra dependencies, and it is itself tested to reject documents.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from iamgate.bundle import format as fmt
from iamgate.bundle.loader import load_files

from .helpers import DETAILS_FIXTURE, default_bundle_dir

SCHEMAS = Path(str(resources.files("iamgate.bundle").joinpath("schemas")))
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _schema(kind: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{kind}.schema.json").read_text())


def _kind(path: str) -> str | None:
    account_file = fmt.account_file_kind(path)
    name = account_file[1] if account_file else path
    if path.startswith(fmt.TESTS_DIR + "/"):
        return "tests"
    return name.removesuffix(".json") if name.endswith(".json") else None


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name]) and not (name != "boolean" and isinstance(value, bool))


def violations(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str = "$") -> list[str]:
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return violations(value, target, root, path)
    found: list[str] = []
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, name) for name in names):
            return [f"{path}: expected {schema['type']}"]
    if "const" in schema and value != schema["const"]:
        found.append(f"{path}: expected {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: not one of {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{path}: does not match {schema['pattern']}")
        if len(value) < schema.get("minLength", 0):
            found.append(f"{path}: too short")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and not schema.get("minimum", value) <= value <= schema.get("maximum", value):
        found.append(f"{path}: out of range")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                found.append(f"{path}: missing {key}")
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                found += violations(item, properties[key], root, f"{path}.{key}")
            elif extra is False:
                found.append(f"{path}.{key}: not allowed")
            elif isinstance(extra, dict):
                found += violations(item, extra, root, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += violations(item, schema["items"], root, f"{path}[{index}]")
    if "oneOf" in schema:
        matches = sum(not violations(value, option, root, path) for option in schema["oneOf"])
        if matches != 1:
            found.append(f"{path}: matches {matches} of oneOf")
    if "anyOf" in schema and not any(not violations(value, option, root, path) for option in schema["anyOf"]):
        found.append(f"{path}: matches none of anyOf")
    return found


def _validate(kind: str, document: Any) -> list[str]:
    schema = _schema(kind)
    return violations(document, schema, schema)


def test_there_is_a_schema_for_every_document_kind():
    kinds = {name.removesuffix(".json") for name in fmt.ACCOUNT_FILES}
    kinds |= {"manifest", "signatures", "organization", "aws-managed-policies", "tests"}
    kinds |= {"services", "validation"}
    kinds |= {"manifest", "signatures", "organization", "aws-managed-policies", "tests", "http-routes"}
    assert {path.name.removesuffix(".schema.json") for path in SCHEMAS.glob("*.schema.json")} == kinds


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.schema.json")), ids=lambda p: p.name)
def test_each_schema_declares_its_dialect_id_and_title(path):
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(path.name) and schema["title"]


@pytest.mark.parametrize("path", sorted(load_files(default_bundle_dir()).files), ids=str)
def test_each_file_of_the_default_bundle_matches_its_schema(path):
    document = json.loads(load_files(default_bundle_dir()).files[path])
    assert _validate(_kind(path), document) == []


def test_the_details_fixture_matches_the_authorization_details_schema():
    assert _validate("authorization-details", json.loads(DETAILS_FIXTURE.read_text())) == []


def test_the_schema_validator_rejects_what_the_reader_rejects():
    assert _validate("users", {"Users": [{"Path": "/", "GroupList": "Developers"}]}) == [
        "$.Users[0]: missing UserName",
        "$.Users[0].GroupList: expected array",
    ]
    assert _validate(
        "tests", {"tests": [{"name": "t", "principal": "p", "action": "s3:X", "expected": "deny"}]}
    )
