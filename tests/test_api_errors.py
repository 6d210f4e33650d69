"""The management API's one error body, and JSON it refuses before any view runs.

Every DRF refusal answers ``{"detail": ..., "errors": {path: [reasons]}}``;
bodies nested deeper than 64 levels, or holding text PostgreSQL cannot store,
are a 400 naming the problem instead of a 500.
"""

import pytest
from rest_framework.test import APIClient

from engage.messaging.models import Message
from engage.segments.models import Segment
from tests.customer_factories import ProfileFactory

pytestmark = pytest.mark.django_db


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def client_for(key: str | None) -> APIClient:
    client = APIClient()
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def endpoints(workspace):
    """Every POST and PATCH that reads a JSON body, with the method to call."""
    ws = workspace.workspace
    profile = ProfileFactory(workspace=ws)
    dynamic = Segment.objects.create(
        workspace=ws, name="pros", rules={"trait": {"key": "plan", "op": "exists"}}
    )
    static = Segment.objects.create(workspace=ws, name="vips", kind=Segment.STATIC)
    return [
        ("post", "/api/messages/send"),
        ("post", f"/api/profiles/{profile.pk}/consents"),
        ("post", "/api/segments"),
        ("patch", f"/api/segments/{dynamic.pk}"),
        ("post", f"/api/segments/{static.pk}/members"),
        ("post", "/api/segments/preview"),
        ("post", "/api/inbox/tokens"),
    ]


@pytest.mark.parametrize("levels", [65, 10_000])
def test_json_nested_too_deep_is_a_400_on_every_endpoint_that_reads_a_body(
    workspace, endpoints, levels
):
    client = client_for(workspace.secret_key)
    for method, path in endpoints:
        response = getattr(client, method)(path, nested(levels), content_type="application/json")
        assert response.status_code == 400, (path, response.content[:200])
        assert response.json() == {
            "detail": "body: JSON nested deeper than 64 levels",
            "errors": {"body": ["JSON nested deeper than 64 levels"]},
        }, path
    assert not Segment.objects.exclude(name__in=["pros", "vips"]).exists()


def test_json_nested_64_levels_is_accepted(workspace):
    """64 levels is within the limit: the send goes through with its ``defaults``."""
    profile = ProfileFactory(workspace=workspace.workspace, traits={"email": "a@example.com"})
    client = client_for(workspace.secret_key)

    def send(levels: int):
        defaults = "{}"
        for _ in range(levels - 2):  # the body and ``defaults`` are two levels
            defaults = '{"x": ' + defaults + "}"
        body = (
            f'{{"profile_id": {profile.pk}, "channel": "email", "category": "transactional",'
            f' "body": "hi", "defaults": {defaults}}}'
        )
        return client.post("/api/messages/send", body, content_type="application/json")

    assert send(64).status_code == 202
    assert send(65).status_code == 400
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    "text,path,reason",
    [
        ('{"name": "a\\u0000b", "rules": null}', "name", "NUL character"),
        ('{"name": "x", "description": "\\ud800"}', "description", "lone UTF-16 surrogate"),
        ('"\\u0000"', "body", "NUL character"),
        ('{"name": ', "body", "not valid JSON"),
        ('{"name": NaN}', "body", "not valid JSON (NaN is not a JSON number)"),
    ],
)
def test_bodies_that_cannot_be_stored_or_read_are_a_400_naming_where(workspace, text, path, reason):
    response = client_for(workspace.secret_key).post(
        "/api/segments", text, content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert list(body["errors"]) == [path]
    assert reason in body["errors"][path][0]
    assert body["detail"].startswith(f"{path}: ")
    assert not Segment.objects.exists()


def test_a_validation_error_names_each_field_in_errors(workspace):
    response = client_for(workspace.secret_key).post(
        "/api/messages/send",
        {"profile_id": 0, "channel": "email", "category": "spam"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body["errors"]) == {"profile_id", "category"}
    assert body["errors"]["category"] == ['"spam" is not a valid choice.']
    assert "category: " in body["detail"] and "profile_id: " in body["detail"]


def test_nested_validation_errors_are_named_by_their_path(workspace):
    response = client_for(workspace.secret_key).post(
        "/api/messages/send",
        {"identifier": {"email": "x" * 300}, "channel": "email", "category": "marketing"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["identifier.email"]


@pytest.mark.parametrize(
    "key,method,path,status,detail",
    [
        (None, "get", "/api/segments", 401, "Authentication credentials were not provided."),
        ("write", "get", "/api/segments", 403, None),
        ("secret", "get", "/api/messages/999999", 404, "no such message in this workspace"),
        ("secret", "put", "/api/segments", 405, 'Method "PUT" not allowed.'),
    ],
)
def test_other_refusals_have_the_same_shape_with_no_field(
    workspace, key, method, path, status, detail
):
    raw = {"write": workspace.write_key, "secret": workspace.secret_key}.get(key)
    response = getattr(client_for(raw), method)(path)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"detail", "errors"} and body["errors"] == {}
    assert body["detail"]
    if detail:
        assert body["detail"] == detail


def test_an_unsupported_media_type_is_a_415_in_the_same_shape(workspace):
    response = client_for(workspace.secret_key).post(
        "/api/segments", "name,rules", content_type="text/csv"
    )
    assert response.status_code == 415
    assert response.json() == {
        "detail": 'Unsupported media type "text/csv" in request.',
        "errors": {},
    }
