import pytest

from engage.plugins.services import configure_plugin

from .providers import (
    HUBSPOT_TOKEN,
    SHOPIFY_TOKEN,
    ZENDESK_EMAIL,
    ZENDESK_TOKEN,
    FakeHubSpot,
    FakeShopify,
    FakeZendesk,
)


@pytest.fixture(autouse=True)
def sources_on_loopback(settings):
    """The SSRF guard lets the loopback sources through, and waits between
    retries are capped at 50 ms so retry tests stay fast."""
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.ENGAGE_SOURCE_MAX_WAIT_SECONDS = 0.05


@pytest.fixture
def hubspot(workspace):
    server = FakeHubSpot()
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="hubspot",
        settings={"access_token": HUBSPOT_TOKEN, "api_url": server.url, "page_size": 2},
    )
    yield server
    server.close()


@pytest.fixture
def shopify(workspace):
    server = FakeShopify()
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="shopify",
        settings={
            "shop_url": server.url,
            "access_token": SHOPIFY_TOKEN,
            "webhook_secret": "hush",
            "page_size": 2,
        },
    )
    yield server
    server.close()


@pytest.fixture
def zendesk(workspace):
    server = FakeZendesk(per_page=2)
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="zendesk",
        settings={"url": server.url, "email": ZENDESK_EMAIL, "api_token": ZENDESK_TOKEN},
    )
    yield server
    server.close()
