"""Every model of the OpenAPI document has an example, and every example is valid against its own schema.

The document is the one ``create_app`` serves (it does not depend on the studio). Its schemas are JSON Schema
2020-12 (OpenAPI 3.1); a ``$ref`` is resolved against the document, and formats (``date``, ``date-time``) are
checked. Examples are looked for where OpenAPI puts them: on a schema (``examples``), on one of its properties,
and on a request or response media type (``example``/``examples``), which documents the schema it names.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from api.app import create_app
from core.studio import Studio

DOCUMENT: dict[str, Any] = create_app(cast(Studio, None)).openapi()
COMPONENTS: dict[str, dict[str, Any]] = DOCUMENT["components"]["schemas"]

FASTAPI_OWN = {"HTTPValidationError", "ValidationError"}
"""FastAPI's own 422 models: our API never answers them (api/problems.py answers a problem instead)."""

GENERATED_FORM = "Body_"
"""The prefix of the body schemas FastAPI builds from a route's form parameters. It gives them no way to carry an
example of their own, so each is documented by its media type's example or by an example on every field but
its files (a JSON example cannot hold a file's bytes)."""

SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SUBSCHEMA_MAPS = ("properties", "$defs", "patternProperties")
SUBSCHEMA_ONE = ("items", "additionalProperties", "not", "contains", "propertyNames")

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339: a date, a time and an offset (jsonschema checks this one only with an optional package)."""
    return not isinstance(value, str) or ("T" in value.upper() and datetime.fromisoformat(value).tzinfo is not None)


VALIDATOR = Draft202012Validator(DOCUMENT, format_checker=FORMATS)
"""A validator rooted at the document, so that each schema's ``#/components/…`` references resolve."""


def pointer(*parts: str | int) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def schemas_in(schema: Any, at: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """``schema`` and every schema inside it, with where each is in the document."""
    if not isinstance(schema, dict):
        return
    yield at, schema
    for key in SUBSCHEMA_ONE:
        yield from schemas_in(schema.get(key), f"{at}/{key}")
    for key in SUBSCHEMA_LISTS:
        for i, sub in enumerate(schema.get(key, ())):
            yield from schemas_in(sub, f"{at}/{key}/{i}")
    for key in SUBSCHEMA_MAPS:
        for name, sub in schema.get(key, {}).items():
            yield from schemas_in(sub, f"{at}/{key}{pointer(name)}")


def media_types() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every request body's and response's media type object, with where it is."""
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            bodies = [("requestBody", operation.get("requestBody", {}))]
            bodies += [(f"responses/{status}", answer) for status, answer in operation.get("responses", {}).items()]
            for where, body in bodies:
                for media_type, media in body.get("content", {}).items():
                    yield f"{pointer('paths', path, method)}/{where}/content{pointer(media_type)}", media


def media_examples(media: dict[str, Any]) -> list[Any]:
    """A media type's examples: ``example``, and the values of ``examples`` (OpenAPI Example objects)."""
    found = [media["example"]] if "example" in media else []
    return found + [e["value"] for e in media.get("examples", {}).values() if "value" in e]


def all_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, schema in COMPONENTS.items():
        yield from schemas_in(schema, pointer("components", "schemas", name))
    for at, media in media_types():
        yield from schemas_in(media.get("schema"), f"{at}/schema")


SCHEMA_EXAMPLES = [
    pytest.param(schema, example, id=f"{at}[{i}]")
    for at, schema in all_schemas()
    for i, example in enumerate(schema.get("examples", ()))
]
MEDIA_EXAMPLES = [
    pytest.param(media["schema"], example, id=f"{at}[{i}]")
    for at, media in media_types()
    if "schema" in media
    for i, example in enumerate(media_examples(media))
]


def examples_of(name: str) -> list[Any]:
    """The examples documenting a component: its own, and those of the media types whose schema it is."""
    ref = f"#/components/schemas/{name}"
    found = list(COMPONENTS[name].get("examples", ()))
    return found + [e for _at, m in media_types() if m.get("schema", {}).get("$ref") == ref for e in media_examples(m)]


def is_file(schema: dict[str, Any]) -> bool:
    return "contentMediaType" in schema or schema.get("format") == "binary"


def fields_without_examples(schema: dict[str, Any]) -> list[str]:
    return [k for k, s in schema.get("properties", {}).items() if not is_file(s) and "examples" not in s]


def test_the_document_has_models_and_examples_to_check():
    assert len(COMPONENTS) > 50
    assert len(SCHEMA_EXAMPLES) > len(COMPONENTS)
    assert MEDIA_EXAMPLES


@pytest.mark.parametrize("name", sorted(set(COMPONENTS) - FASTAPI_OWN))
def test_every_model_has_an_example(name: str):
    schema = COMPONENTS[name]
    if examples_of(name):
        return
    assert name.startswith(GENERATED_FORM), f"{name} has no example"
    assert schema.get("properties"), f"{name} has no example and no fields to give one"
    assert not fields_without_examples(schema), f"{name}: these fields have no example"


@pytest.mark.parametrize(("schema", "example"), SCHEMA_EXAMPLES)
def test_every_example_of_a_schema_is_valid_against_it(schema: dict[str, Any], example: Any):
    errors = [e.message for e in VALIDATOR.evolve(schema=schema).iter_errors(example)]
    assert not errors


@pytest.mark.parametrize(("schema", "example"), MEDIA_EXAMPLES)
def test_every_example_of_a_request_or_answer_is_valid_against_its_schema(schema: dict[str, Any], example: Any):
    errors = [e.message for e in VALIDATOR.evolve(schema=schema).iter_errors(example)]
    assert not errors


def test_an_invalid_example_would_be_caught():
    """The validator reads references, formats and required fields: a broken copy of a real example fails."""
    schema = {"$ref": "#/components/schemas/MeOut"}
    (example,) = COMPONENTS["MeOut"]["examples"]
    assert not list(VALIDATOR.evolve(schema=schema).iter_errors(example))
    broken = [
        {**example, "user": {**example["user"], "id": "2"}},
        {**example, "token": {**example["token"], "expires_at": "next March"}},
        {key: value for key, value in example.items() if key != "budget"},
    ]
    for bad in broken:
        assert list(VALIDATOR.evolve(schema=schema).iter_errors(bad)), bad
