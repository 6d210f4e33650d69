"""The OpenAPI document: valid, complete for the profile API, and browsable."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from drf_spectacular.validation import validate_schema

from engage.inbox import tokens
from engage.segments.models import Segment
from tests.customer_factories import EventFactory
from tests.journeys.factories import live_journey

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def schema() -> dict:
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content
    return response.json()


def parameters(schema: dict, path: str, method: str = "get") -> dict[str, dict]:
    return {p["name"]: p for p in schema["paths"][path][method]["parameters"]}


def test_schema_is_a_valid_openapi_3_document(schema):
    validate_schema(schema)  # raises on any violation of the OpenAPI 3 JSON schema

    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "engage API"


def test_path_parameters_match_the_paths(schema):
    for path, operations in schema["paths"].items():
        in_path = set(re.findall(r"{(\w+)}", path))
        for method, operation in operations.items():
            documented = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert documented == in_path, (path, method)


def test_schema_lists_the_profile_endpoints(schema):
    assert {
        "/api/profiles/lookup",
        "/api/profiles/{profile_id}",
        "/api/profiles/{profile_id}/events",
        "/api/profiles/{profile_id}/export",
        "/api/merges/{merge_id}/split",
    } <= set(schema["paths"])
    assert set(schema["paths"]["/api/profiles/{profile_id}"]) >= {"get", "delete"}
    assert "post" in schema["paths"]["/api/merges/{merge_id}/split"]


def test_lookup_documents_every_identifier_parameter(schema):
    lookup = parameters(schema, "/api/profiles/lookup")

    assert set(lookup) == {
        "email",
        "phone",
        "user_id",
        "anonymous_id",
        "device_id",
        "kind",
        "value",
    }
    assert all(p["in"] == "query" and not p.get("required") for p in lookup.values())
    responses = schema["paths"]["/api/profiles/lookup"]["get"]["responses"]
    assert {"200", "400", "401", "403", "404"} <= set(responses)


def test_timeline_documents_its_pagination(schema):
    events = parameters(schema, "/api/profiles/{profile_id}/events")

    assert events["profile_id"]["in"] == "path" and events["profile_id"]["required"]
    assert events["limit"]["schema"]["type"] == "integer"
    assert events["cursor"]["in"] == "query"
    assert set(events["type"]["schema"]["enum"]) == {
        "identify",
        "track",
        "page",
        "screen",
        "group",
        "alias",
    }
    ok = schema["paths"]["/api/profiles/{profile_id}/events"]["get"]["responses"]["200"]
    page = ok["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"next", "previous", "results"} <= set(
        schema["components"]["schemas"][page]["properties"]
    )


def test_every_list_pages_the_same_way(schema):
    """No operation answers a bare array: each list is a keyset page with the
    timeline's links, and takes ``cursor`` and ``limit``."""
    components = schema["components"]["schemas"]
    lists = []
    for path, method, operation in operations(schema):
        ok = operation["responses"].get("200", {}).get("content", {}).get("application/json")
        if ok is None:
            continue
        assert ok["schema"].get("type") != "array", (path, method)
        body = components.get(ok["schema"].get("$ref", "").rsplit("/", 1)[-1], {})
        if "results" in body.get("properties", {}):
            lists.append(path)
            assert {"next", "previous", "results"} <= set(body["properties"]), path
            assert {"cursor", "limit"} <= set(parameters(schema, path, method)), path
    assert set(lists) == {
        "/api/profiles/{profile_id}/events",
        "/api/profiles/{profile_id}/decisions",
        "/api/profiles/{profile_id}/consents",
        "/api/segments",
        "/api/segments/{segment_id}/members",
        "/api/templates",
        "/api/journeys",
        "/api/journeys/{journey_id}/versions",
        "/api/journeys/{journey_id}/enrollments",
        "/api/profiles/{profile_id}/journeys",
        "/api/broadcasts",
        "/api/catalog/products",
        "/inbox/messages",
    }


def test_every_profile_operation_requires_the_bearer_secret_key(schema):
    scheme = schema["components"]["securitySchemes"]["secretKey"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"

    for path, operations in schema["paths"].items():
        if path.startswith(("/api/profiles", "/api/merges")):
            for method, operation in operations.items():
                assert operation["security"] == [{"secretKey": []}], (path, method)


def test_docs_page_serves_swagger_ui_with_its_assets(db):
    client = Client()
    page = client.get("/api/docs/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "SwaggerUIBundle" in html or "swagger-ui" in html
    assert "/api/schema/" in html
    # The UI comes from the bundled sidecar, served locally (no CDN needed).
    (bundle,) = set(re.findall(r'src="([^"]*swagger-ui-bundle\.js)"', html))
    assert client.get(bundle).status_code == 200


def test_spectacular_validate_reports_no_warnings():
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("openapi: 3")


def operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_operation_lists_the_errors_it_can_answer(schema):
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        places = {p["in"] for p in operation.get("parameters", [])}
        takes_input = "requestBody" in operation or "query" in places
        assert "401" in responses, (path, method)
        assert ("400" in responses) == takes_input, (path, method)
        assert ("415" in responses) == ("requestBody" in operation), (path, method)
        assert ("404" in responses) >= ("path" in places), (path, method)
        assert not any(code.startswith("5") for code in responses), (path, method)


def test_every_error_answer_has_the_one_error_body(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["detail", "errors"]
    assert error["properties"]["errors"]["additionalProperties"]["type"] == "array"

    for path, method, operation in operations(schema):
        for code, response in operation["responses"].items():
            if code == "414":
                # gunicorn's own page, for a request line it will not read
                assert set(response["content"]) == {"text/html"}, (path, method)
            elif code.startswith("4"):
                body = response["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/Error"}, (path, method, code)


def test_request_bodies_are_json_only_and_a_form_is_a_415(schema, workspace):
    for path, _method, operation in operations(schema):
        if "requestBody" in operation:
            assert set(operation["requestBody"]["content"]) == {"application/json"}, path

    response = Client().post(
        "/api/segments",
        {"name": "Pro", "kind": "static"},
        HTTP_AUTHORIZATION=f"Bearer {workspace.secret_key}",
    )
    assert response.status_code == 415
    assert set(response.json()) == {"detail", "errors"}


def test_string_constraints_of_the_schema_are_the_inputs(schema):
    send = schema["components"]["schemas"]["SendRequest"]["properties"]
    assert send["channel"]["minLength"] == 1
    segment = schema["components"]["schemas"]["SegmentInputRequest"]["properties"]
    assert (segment["name"]["minLength"], segment["name"]["maxLength"]) == (1, 200)
    assert segment["rules"]["minProperties"] == segment["rules"]["maxProperties"] == 1
    members = parameters(schema, "/api/segments/{segment_id}/members")
    assert (members["limit"]["schema"]["minimum"], members["limit"]["schema"]["maximum"]) == (
        1,
        1000,
    )


def test_a_nul_in_any_query_parameter_is_a_400_never_a_500(schema, workspace):
    """PostgreSQL text cannot hold NUL: a parameter that reached a query with one
    was a DataError (500), as ``?event=%00`` on the timeline was."""
    profile = EventFactory(profile__workspace=workspace.workspace).profile
    segment = Segment.objects.create(workspace=workspace.workspace, name="Static", kind="static")
    journey = live_journey(workspace.workspace, {})
    ids = {"profile_id": profile.pk, "segment_id": segment.pk, "journey_id": journey.pk}
    keys = {
        "secretKey": workspace.secret_key,
        "inboxToken": tokens.issue(workspace_id=workspace.workspace.pk, profile_id=profile.pk),
    }
    tried = 0
    for path, method, operation in operations(schema):
        query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        if not query:
            continue
        [[scheme]] = operation["security"]
        client = Client(HTTP_AUTHORIZATION=f"Bearer {keys[scheme]}")
        url = re.sub(r"{(\w+)}", lambda m: str(ids[m.group(1)]), path)
        for name in query:
            response = getattr(client, method)(url, {name: "a\x00b"})
            assert response.status_code == 400, (path, name, response.content)
            assert set(response.json()) == {"detail", "errors"}
            tried += 1
    assert tried >= 12


def test_a_token_request_is_one_of_a_user_id_or_a_profile_id(schema):
    body = schema["paths"]["/api/inbox/tokens"]["post"]["requestBody"]
    assert body["required"] is True
    forms = schema["components"]["schemas"]["InboxTokenRequest"]["oneOf"]
    required = [
        schema["components"]["schemas"][f["$ref"].rsplit("/", 1)[-1]]["required"] for f in forms
    ]
    assert sorted(required) == [["profile_id"], ["user_id"]]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_the_secret_key_comes_first_in_the_authorize_dialog(fmt):
    # Swagger UI lists the schemes in the document's order; the page loads YAML.
    body = Client().get("/api/schema/", {"format": fmt}).content.decode()
    schemes = (
        list(json.loads(body)["components"]["securitySchemes"])
        if fmt == "json"
        else re.findall(r"^    (\w+):$", body.split("  securitySchemes:\n", 1)[1], re.MULTILINE)
    )

    assert schemes[0] == "secretKey"
    assert "inboxToken" in schemes
