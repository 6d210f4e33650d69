"""An operator adds a channel in Chromium: choosing the plugin shows its
settings at once, with the workspace already chosen kept."""

from django.contrib.auth.models import User

from engage.plugins.models import PluginConfig


def choose_email(page) -> dict:
    before = page.locator("input[name^='setting_']").count()
    page.select_option("#id_workspace", label="acme")
    page.select_option("#id_plugin_id", value="email")
    page.wait_for_url("**plugin_id=email**")
    page.locator("input[name='setting_from_email']").wait_for()
    page.fill("input[name='setting_from_email']", "shop@acme.example")
    page.fill("input[name='setting_backend']", "outbox")
    with page.expect_navigation():
        page.click("input[name='_save']")
    return {
        "settings before choosing": before,
        "url": page.url,
        "errors": page.locator(".errornote, .errorlist").all_inner_texts(),
        "message": page.locator(".messagelist").all_inner_texts(),
    }


def test_choosing_a_plugin_shows_its_settings_before_any_save(open_admin_page, workspace):
    admin = User.objects.create_superuser("root", "", "not-used")

    seen = open_admin_page(admin, "/admin/plugins/pluginconfig/add/", choose_email)

    assert seen["settings before choosing"] == 0
    assert seen["errors"] == []
    assert seen["url"].endswith("/admin/plugins/pluginconfig/")
    assert "was added successfully" in " ".join(seen["message"])
    config = PluginConfig.objects.get()
    assert (config.workspace, config.plugin_id) == (workspace.workspace, "email")
    assert config.settings["from_email"] == "shop@acme.example"
