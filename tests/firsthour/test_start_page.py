"""The server's root is a start page, not a debug 404, and /health says
whether the server reaches its database."""

import pytest
from django.contrib import admin
from django.test import override_settings

from engage.demo.models import DemoAccess

pytestmark = pytest.mark.django_db


def test_the_root_is_a_start_page_with_the_ways_in(client):
    page = client.get("/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "omnichannel customer-engagement server" in text
    for link in ('href="/admin/"', 'href="/api/docs/"', 'href="/health"'):
        assert link in text
    assert "Demo" not in text  # no demo workspace here


def test_the_admins_view_site_link_leads_to_the_start_page(admin_client):
    page = admin_client.get("/admin/").content.decode()

    assert 'href="/">View site' in page
    assert "engage administration" in page
    assert admin_client.get(admin.site.site_url).status_code == 200


def test_health_answers_once_the_database_answered(client):
    answer = client.get("/health")

    assert (answer.status_code, answer.json()) == (200, {"status": "ok", "database": "ok"})


def demo_access(workspace) -> DemoAccess:
    return DemoAccess.objects.create(
        workspace=workspace.workspace,
        write_key=workspace.write_key,
        secret_key=workspace.secret_key,
        admin_username="admin",
        admin_password="s3cret-demo",
    )


@override_settings(DEBUG=True)
def test_a_development_server_shows_the_demos_keys_and_login(client, workspace):
    demo_access(workspace)

    text = client.get("/", HTTP_HOST="localhost:8000").content.decode()

    for shown in (workspace.write_key, workspace.secret_key, "s3cret-demo"):
        assert shown in text
    assert "scripts/manage changepassword admin" in text


@override_settings(DEBUG=True)
@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]:8000", "localhost"])
def test_every_loopback_host_shows_the_demos_keys(client, workspace, host):
    demo_access(workspace)

    assert workspace.secret_key in client.get("/", HTTP_HOST=host).content.decode()


@pytest.mark.parametrize(
    ("debug", "request_meta"),
    [
        (False, {}),
        (True, {"REMOTE_ADDR": "203.0.113.9"}),
        # A tunnel or reverse proxy on the same machine connects from loopback.
        (True, {"HTTP_HOST": "engage-demo.ngrok.app"}),
        (True, {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}),
        (True, {"HTTP_FORWARDED": "for=203.0.113.9"}),
        (True, {"HTTP_X_FORWARDED_HOST": "engage-demo.ngrok.app"}),
    ],
    ids=["production", "remote", "public-host", "x-forwarded-for", "forwarded", "x-forwarded-host"],
)
def test_the_demos_keys_stay_off_a_page_another_machine_may_see(
    client, workspace, debug, request_meta
):
    demo_access(workspace)
    request_meta = {"REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "localhost:8000", **request_meta}

    with override_settings(DEBUG=debug, ALLOWED_HOSTS=["*"]):
        text = client.get("/", **request_meta).content.decode()

    assert workspace.secret_key not in text
    assert "s3cret-demo" not in text
