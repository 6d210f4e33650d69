"""An operator uploads a customer list in Chromium and follows the import run
from the message to its page: the counts, and the bad row by line and column."""

from django.contrib.auth.models import User

from engage.imports.models import ImportRun
from engage.plugins.services import configure_plugin

CSV = "email,first_name\nann@acme.example,Ann\nnot-an-email,Bob\n"


def test_an_upload_is_followed_to_its_import_run(open_admin_page, workspace, settings, tmp_path):
    settings.ENGAGE_IMPORT_DIR = str(tmp_path / "imports")
    config = configure_plugin(workspace=workspace.workspace, plugin_id="csv_customers", settings={})
    admin = User.objects.create_superuser("root", "", "not-used")

    def upload_and_follow(page) -> dict:
        page.set_input_files(
            "input[name='import_file']",
            {"name": "list.csv", "mimeType": "text/csv", "buffer": CSV.encode()},
        )
        page.select_option("#id_import_mode", value="apply_valid")
        with page.expect_navigation():
            page.click("input[name='_continue']")
        message = page.locator(".messagelist").inner_text()
        with page.expect_navigation():
            page.click(".messagelist a")
        return {
            "message": message,
            "url": page.url,
            "status": page.locator(".field-status .readonly").inner_text(),
            "problems": page.locator(".field-problems li").all_inner_texts(),
            "progress": page.locator(".field-progress progress").get_attribute("value"),
        }

    seen = open_admin_page(
        admin, f"/admin/plugins/pluginconfig/{config.pk}/change/", upload_and_follow
    )

    run = ImportRun.objects.get()
    assert "read 2, stored 1, duplicates 0, invalid 1" in seen["message"]
    assert seen["url"].endswith(f"/admin/imports/importrun/{run.pk}/change/")
    assert seen["status"] == "succeeded"
    assert [p.split(": ")[:2] for p in seen["problems"]] == [["line 3", "email"]]
    assert seen["progress"] == "100"
