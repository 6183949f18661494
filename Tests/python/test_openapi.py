"""openapi.yaml is a valid OpenAPI 3.1 document and matches the server's routes."""

from __future__ import annotations

import subprocess

from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from jsonschema import Draft202012Validator

from conftest import OPENAPI_PATH, require_keyway_bin

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}
SPEC_URI = "urn:keyway:openapi"


def spec_operations(spec: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS and method.upper() not in IGNORED_METHODS
    }


def test_openapi_is_valid(openapi_spec):
    assert openapi_spec["openapi"] == "3.1.0"
    validate(openapi_spec)


def test_every_operation_has_id_and_summary(openapi_spec):
    ids = []
    for path, item in openapi_spec["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            assert op.get("operationId"), f"{method.upper()} {path} has no operationId"
            assert op.get("summary"), f"{method.upper()} {path} has no summary"
            ids.append(op["operationId"])
    assert len(ids) == len(set(ids)), "operationIds must be unique"


def test_core_paths_are_documented(openapi_spec):
    # The foundation's operations; data-type routes are checked against the
    # server's own route list in test_routes_match_openapi.
    expected = {
        ("POST", "/"),
        ("GET", "/v1/acl/whoami"),
        ("GET", "/v1/acl/users"),
        ("GET", "/v1/acl/users/{name}"),
        ("PUT", "/v1/acl/users/{name}"),
        ("DELETE", "/v1/acl/users/{name}"),
        ("POST", "/v1/acl/tokens"),
        ("GET", "/v1/acl/tokens"),
        ("DELETE", "/v1/acl/tokens/{id}"),
        ("GET", "/v1/acl/log"),
        ("DELETE", "/v1/acl/log"),
        ("POST", "/pipeline"),
        ("POST", "/multi-exec"),
        ("GET", "/{command}"),
        ("POST", "/{command}"),
        ("GET", "/{command}/{args}"),
        ("POST", "/{command}/{args}"),
        ("GET", "/v1/keys"),
        ("GET", "/v1/keys/{key}"),
        ("PUT", "/v1/keys/{key}"),
        ("DELETE", "/v1/keys/{key}"),
        ("GET", "/v1/keys/{key}/ttl"),
        ("PUT", "/v1/keys/{key}/ttl"),
        ("DELETE", "/v1/keys/{key}/ttl"),
        ("POST", "/v1/keys/{key}/incr"),
        ("GET", "/v1/hashes/{key}"),
        ("PUT", "/v1/hashes/{key}"),
        ("PATCH", "/v1/hashes/{key}"),
        ("DELETE", "/v1/hashes/{key}"),
        ("GET", "/v1/hashes/{key}/fields/{field}"),
        ("PUT", "/v1/hashes/{key}/fields/{field}"),
        ("DELETE", "/v1/hashes/{key}/fields/{field}"),
        ("POST", "/v1/hashes/{key}/fields/{field}/incr"),
        ("GET", "/v1/hashes/{key}/fields/{field}/ttl"),
        ("PUT", "/v1/hashes/{key}/fields/{field}/ttl"),
        ("DELETE", "/v1/hashes/{key}/fields/{field}/ttl"),
        ("GET", "/v1/leaderboards/{key}"),
        ("POST", "/v1/leaderboards/{key}"),
        ("DELETE", "/v1/leaderboards/{key}"),
        ("GET", "/v1/leaderboards/{key}/members/{member}"),
        ("PUT", "/v1/leaderboards/{key}/members/{member}"),
        ("DELETE", "/v1/leaderboards/{key}/members/{member}"),
        ("POST", "/v1/leaderboards/{key}/members/{member}/incr"),
        ("GET", "/v1/info"),
        ("GET", "/healthz"),
    }
    assert expected <= spec_operations(openapi_spec)
    assert openapi_spec["paths"]["/healthz"]["get"]["security"] == []
    assert openapi_spec["security"] == [{"bearer": []}, {"basic": []}]


def test_problem_codes_match_api_doc(openapi_spec):
    codes = set(openapi_spec["components"]["schemas"]["ErrorCode"]["enum"])
    doc = (OPENAPI_PATH.parent / "docs" / "API.md").read_text()
    import re

    documented = set(re.findall(r"^\| `([A-Z_]+)` \| \d{3} \|", doc, flags=re.M))
    assert documented, "could not read the error-code table from docs/API.md"
    assert codes == documented, f"only in openapi.yaml: {codes - documented}; only in API.md: {documented - codes}"


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _examples_with_schemas(spec: dict):
    """Yield (where, example value, JSON pointer to its schema) for every media-type example."""

    def media_examples(where: str, base: list[str], content: dict):
        for media_type, media in content.items():
            if "schema" not in media or not media_type.endswith("json"):
                continue
            schema_ptr = _pointer(*base, media_type, "schema")
            if "example" in media:
                yield f"{where} {media_type} example", media["example"], schema_ptr
            for name, ex in media.get("examples", {}).items():
                if "value" in ex:
                    yield f"{where} {media_type} examples.{name}", ex["value"], schema_ptr

    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            where = f"{method.upper()} {path}"
            body = op.get("requestBody", {})
            if "content" in body:
                yield from media_examples(where + " request", ["paths", path, method, "requestBody", "content"], body["content"])
            for status, resp in op.get("responses", {}).items():
                if "content" in resp:
                    yield from media_examples(
                        f"{where} {status}", ["paths", path, method, "responses", status, "content"], resp["content"]
                    )
    for name, resp in spec["components"].get("responses", {}).items():
        if "content" in resp:
            yield from media_examples(f"components.responses.{name}", ["components", "responses", name, "content"], resp["content"])
    for name, schema in spec["components"]["schemas"].items():
        if "example" in schema:
            yield f"components.schemas.{name} example", schema["example"], _pointer("components", "schemas", name)
        for i, ex in enumerate(schema.get("examples", [])):
            yield f"components.schemas.{name} examples[{i}]", ex, _pointer("components", "schemas", name)


def test_examples_match_their_schemas(openapi_spec):
    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(openapi_spec, default_specification=DRAFT202012))
    failures = []
    count = 0
    for where, example, ptr in _examples_with_schemas(openapi_spec):
        count += 1
        validator = Draft202012Validator({"$ref": f"{SPEC_URI}#/{ptr}"}, registry=registry)
        errors = sorted(validator.iter_errors(example), key=str)
        if errors:
            failures.append(f"{where}: {errors[0].message}")
    assert count > 20, "expected plenty of examples in openapi.yaml"
    assert not failures, "examples that do not match their schema:\n" + "\n".join(failures)


def test_routes_match_openapi(openapi_spec):
    binary = require_keyway_bin()
    proc = subprocess.run([str(binary), "routes"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, f"`keyway routes` exited {proc.returncode}: {proc.stderr}"
    server_routes = set()
    unparsable = []
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].startswith("/") or not parts[0].isalpha():
            unparsable.append(line)
            continue
        method, path = parts[0].upper(), parts[1]
        if method not in IGNORED_METHODS:
            server_routes.add((method, path))
    assert not unparsable, f"`keyway routes` printed lines that are not `METHOD /path`: {unparsable}"
    documented = spec_operations(openapi_spec)
    missing_in_spec = sorted(server_routes - documented)
    missing_in_server = sorted(documented - server_routes)
    assert server_routes == documented, (
        "routes differ between `keyway routes` and openapi.yaml\n"
        f"  served but not in openapi.yaml: {[' '.join(r) for r in missing_in_spec]}\n"
        f"  in openapi.yaml but not served: {[' '.join(r) for r in missing_in_server]}"
    )
