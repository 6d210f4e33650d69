import pytest
from django.contrib.auth import get_user_model

from engage.plugins.base import SettingsError
from engage.plugins.models import PluginConfig
from engage.plugins.services import configure_plugin

from .conftest import BOT_TOKEN

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("settings", "errors"),
    [
        ({}, {"bot_token": "required"}),
        ({"bot_token": "nocolon"}, {"bot_token": "expected <bot id>:<secret>"}),
        ({"bot_token": BOT_TOKEN, "api_base": "ftp://x"}, {"api_base": "not a valid url"}),
        ({"bot_token": BOT_TOKEN, "colour": "red"}, {"colour": "unknown setting"}),
    ],
)
def test_settings_are_validated_by_the_plugin_naming_the_field(workspace, settings, errors):
    with pytest.raises(SettingsError) as error:
        configure_plugin(workspace=workspace.workspace, plugin_id="telegram", settings=settings)
    for field, reason in errors.items():
        assert error.value.errors[field].startswith(reason)
    assert not PluginConfig.objects.exists()


def test_an_unknown_plugin_is_refused_naming_the_installed_ones(workspace):
    with pytest.raises(SettingsError) as error:
        configure_plugin(workspace=workspace.workspace, plugin_id="carrier_pigeon", settings={})
    assert "telegram" in error.value.errors["plugin_id"]


def test_email_settings_check_ports_and_backends(workspace):
    with pytest.raises(SettingsError) as error:
        configure_plugin(
            workspace=workspace.workspace,
            plugin_id="email",
            settings={"from_email": "a@b.example", "smtp_host": "mx.example", "smtp_port": 70000},
        )
    assert error.value.errors == {"smtp_port": "must be between 1 and 65535"}
    with pytest.raises(SettingsError) as error:
        configure_plugin(
            workspace=workspace.workspace,
            plugin_id="email",
            settings={"from_email": "a@b.example", "backend": "os.system"},
        )
    assert "backend" in error.value.errors


@pytest.fixture
def admin_client(client, db):
    # No password: hashing one costs a second, and force_login needs none.
    user = get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_the_admin_never_echoes_a_secret_and_a_blank_keeps_it(admin_client, workspace):
    config = configure_plugin(
        workspace=workspace.workspace,
        plugin_id="telegram",
        settings={"bot_token": BOT_TOKEN, "webhook_secret": "whsec-1"},
    )
    url = f"/admin/plugins/pluginconfig/{config.pk}/change/"

    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert BOT_TOKEN not in html and "test-bot-secret" not in html and "whsec-1" not in html
    assert "A value is stored; leave blank to keep it." in html

    response = admin_client.post(
        url, {"enabled": "", "setting_bot_token": "", "setting_webhook_secret": ""}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    config.refresh_from_db()
    assert config.settings["bot_token"] == BOT_TOKEN
    assert config.settings["webhook_secret"] == "whsec-1"
    assert not config.enabled

    bad = admin_client.post(url, {"enabled": "on", "setting_bot_token": "not-a-token"})
    assert bad.status_code == 200
    assert "bot_token: expected &lt;bot id&gt;:&lt;secret&gt;" in bad.content.decode()
    config.refresh_from_db()
    assert config.settings["bot_token"] == BOT_TOKEN


def test_adding_a_plugin_in_the_admin_shows_its_settings(admin_client, workspace):
    page = admin_client.get("/admin/plugins/pluginconfig/add/?plugin_id=telegram")
    html = page.content.decode()
    assert 'name="setting_bot_token"' in html and 'type="password"' in html

    response = admin_client.post(
        "/admin/plugins/pluginconfig/add/",
        {
            "workspace": workspace.workspace.pk,
            "plugin_id": "telegram",
            "enabled": "on",
            "setting_bot_token": BOT_TOKEN,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert PluginConfig.objects.get().settings["bot_token"] == BOT_TOKEN


def test_moving_the_api_base_asks_for_the_secrets_again(admin_client, workspace):
    """A secret is only sent where it was typed in: whoever may edit the
    settings must know it to point the plugin at another server."""
    config = configure_plugin(
        workspace=workspace.workspace,
        plugin_id="telegram",
        settings={"bot_token": BOT_TOKEN, "webhook_secret": "whsec-1"},
    )
    url = f"/admin/plugins/pluginconfig/{config.pk}/change/"

    moved = admin_client.post(
        url, {"enabled": "on", "setting_api_base": "https://telegram.attacker.example"}
    )

    assert moved.status_code == 200
    html = moved.content.decode()
    assert "bot_token: required again: api_base changed" in html
    assert "webhook_secret: required again: api_base changed" in html
    config.refresh_from_db()
    assert config.settings["api_base"] == "https://api.telegram.org"
    assert config.settings["bot_token"] == BOT_TOKEN

    retyped = admin_client.post(
        url,
        {
            "enabled": "on",
            "setting_api_base": "https://telegram.example",
            "setting_bot_token": "654321:new-bot-secret",
            "setting_webhook_secret": "whsec-2",
        },
    )
    assert retyped.status_code == 302, retyped.content.decode()[:2000]
    config.refresh_from_db()
    assert config.settings["api_base"] == "https://telegram.example"
    assert config.settings["bot_token"] == "654321:new-bot-secret"


def test_without_scripts_a_save_after_choosing_asks_for_the_settings(admin_client, workspace):
    page = admin_client.get("/admin/plugins/pluginconfig/add/").content.decode()
    assert 'name="setting_' not in page
    assert '<option value="" selected>---------</option>' in page
    form = {"workspace": workspace.workspace.pk, "plugin_id": "telegram", "shown_plugin": ""}

    chosen = admin_client.post("/admin/plugins/pluginconfig/add/", form)

    text = chosen.content.decode()
    assert chosen.status_code == 200
    assert "Fill in the settings of Telegram below, then save." in text
    assert "bot_token: required" not in text  # asked for, not reported missing
    assert 'name="setting_bot_token"' in text
    assert 'name="shown_plugin" value="telegram"' in text
    form.update(shown_plugin="telegram", setting_bot_token=BOT_TOKEN, enabled="on")
    assert admin_client.post("/admin/plugins/pluginconfig/add/", form).status_code == 302
    assert PluginConfig.objects.get().settings["bot_token"] == BOT_TOKEN
