"""The catalog in the admin: the upload, which starts an import run, and
the export, each behind the bulk permissions of every admin import and
export, and an export a spreadsheet cannot run as formulas."""

import csv
import gzip
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from engage.catalog.models import Product
from engage.catalog.resources import ProductResource
from engage.imports.models import ImportRun
from engage.plugins.services import configure_plugin

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/catalog/product/"
UPLOAD = "/admin/catalog/product/upload/"
EXPORT = "/admin/catalog/product/export/"


@pytest.fixture
def staff(client, workspace):
    """A staff member of the workspace who may see and change products, nothing more."""
    user = get_user_model().objects.create(username="staff", is_staff=True)
    workspace.workspace.members.add(user)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="catalog", codename__in=["view_product", "change_product"]
        )
    )
    client.force_login(user)
    return user


def grant(user, codename):
    user.user_permissions.add(Permission.objects.get(codename=codename))


def test_upload_and_export_need_the_bulk_permissions(client, staff):
    page = client.get(CHANGELIST).content.decode()
    assert "Upload CSV" not in page and EXPORT not in page
    assert client.get(UPLOAD).status_code == 403
    assert client.post(UPLOAD, {"mode": "apply_valid"}).status_code == 403
    assert client.get(EXPORT).status_code == 403

    grant(staff, "import_data")
    grant(staff, "export_data")
    staff = get_user_model().objects.get(pk=staff.pk)  # permissions are cached per object
    client.force_login(staff)

    page = client.get(CHANGELIST).content.decode()
    assert "Upload CSV" in page and EXPORT in page
    assert client.get(UPLOAD).status_code == 200
    assert client.get(EXPORT).status_code == 200


def upload(client, workspace, content: bytes, mode: str = "apply_valid"):
    file = SimpleUploadedFile("catalog.csv", content)
    return client.post(UPLOAD, {"workspace": workspace.pk, "file": file, "mode": mode})


def test_an_upload_is_an_import_run_whose_page_lists_each_bad_row(client, staff, workspace):
    grant(staff, "import_data")
    grant(staff, "view_importrun")

    answer = upload(
        client,
        workspace.workspace,
        b"product_id,title,price\nA,Runner,10\n,No id,5\nB,Sock,cheap\n",
    )

    run = ImportRun.objects.get()
    assert (run.importer_id, run.status, run.started_by) == ("csv_catalog", "succeeded", staff)
    assert (run.read, run.stored, run.invalid) == (3, 1, 2)
    assert answer.status_code == 302
    assert answer["Location"] == reverse("admin:imports_importrun_change", args=[run.pk])
    html = client.get(answer["Location"]).content.decode()
    assert "line 3: product_id: required" in html
    assert "line 4: price: must be a number" in html
    assert list(Product.objects.values_list("product_id", flat=True)) == ["A"]


def test_staff_who_cannot_view_runs_are_told_the_outcome_on_the_products_list(
    client, staff, workspace
):
    grant(staff, "import_data")

    answer = upload(client, workspace.workspace, b"product_id,title\nA,Runner\n", "all_or_nothing")

    assert answer["Location"] == CHANGELIST
    page = client.get(CHANGELIST).content.decode()
    assert "read 1, stored 1, duplicates 0, invalid 0" in page


def test_a_refused_file_is_named_on_the_form_and_starts_no_run(client, staff, workspace):
    grant(staff, "import_data")

    answer = upload(client, workspace.workspace, gzip.compress(b"product_id\nA\n" * 100))

    assert answer.status_code == 200
    assert "file: gzip-compressed (compressed files are not accepted" in answer.content.decode()
    assert not ImportRun.objects.exists()
    assert not Product.objects.exists()


def test_a_workspace_that_turned_the_catalog_importer_off_is_told_so(client, staff, workspace):
    grant(staff, "import_data")
    configure_plugin(
        workspace=workspace.workspace, plugin_id="csv_catalog", settings={}, enabled=False
    )

    answer = upload(client, workspace.workspace, b"product_id\nA\n")

    assert "importer &#x27;csv_catalog&#x27; is not enabled" in answer.content.decode()
    assert not Product.objects.exists()


def test_an_upload_cannot_reach_another_workspace(client, staff, other_workspace):
    grant(staff, "import_data")
    answer = upload(client, other_workspace.workspace, b"product_id\nA\n")
    assert "Select a valid choice" in answer.content.decode()
    assert not Product.objects.exists()


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"], ids=repr)
def test_the_export_escapes_what_a_spreadsheet_would_run(workspace, start):
    Product.objects.create(
        workspace=workspace.workspace,
        product_id="A",
        title=f'{start}HYPERLINK("https://evil.example","click")',
        category="shoes",
        updated_at=timezone.now(),
    )

    exported = ProductResource().export(Product.objects.all()).csv
    [row] = list(csv.DictReader(io.StringIO(exported)))

    assert row["title"] == f'\'{start}HYPERLINK("https://evil.example","click")'
    assert row["category"] == "shoes"
    assert row["product_id"] == "A"
