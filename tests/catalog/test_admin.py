"""The catalog in the admin: the upload page and the export, each behind
its own permission, and an export a spreadsheet cannot run as formulas."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from engage.catalog.models import Product
from engage.catalog.resources import ProductResource

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


def test_upload_and_export_each_need_their_permission(client, staff):
    assert client.get(CHANGELIST).status_code == 200
    assert client.get(UPLOAD).status_code == 403
    assert client.get(EXPORT).status_code == 403

    grant(staff, "import_product")
    grant(staff, "export_product")
    staff = get_user_model().objects.get(pk=staff.pk)  # permissions are cached per object
    client.force_login(staff)

    assert client.get(UPLOAD).status_code == 200
    assert client.get(EXPORT).status_code == 200


def test_an_upload_lists_each_bad_row_by_line_and_column(client, staff, workspace):
    grant(staff, "import_product")
    upload = SimpleUploadedFile(
        "catalog.csv", b"product_id,title,price\nA,Runner,10\n,No id,5\nB,Sock,cheap\n"
    )

    response = client.post(
        UPLOAD, {"workspace": workspace.workspace.pk, "file": upload, "mode": "apply_valid"}
    )

    html = response.content.decode()
    assert "3 rows read: 1 product created, 0 updated, 2 bad rows not stored." in html
    assert "line 3, column product_id: required" in html
    assert "line 4, column price: must be a number" in html
    assert list(Product.objects.values_list("product_id", flat=True)) == ["A"]


def test_an_upload_cannot_reach_another_workspace(client, staff, other_workspace):
    grant(staff, "import_product")
    upload = SimpleUploadedFile("catalog.csv", b"product_id\nA\n")
    response = client.post(
        UPLOAD, {"workspace": other_workspace.workspace.pk, "file": upload, "mode": "apply_valid"}
    )
    assert "Select a valid choice" in response.content.decode()
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
