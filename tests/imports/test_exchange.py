"""Exports in the admin (django-import-export): what a spreadsheet would run
is escaped, each exports only the user's workspaces, and the buttons need
engage's import and export permissions."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from engage.messaging.models import Consent
from engage.profiles.models import Identity, Profile
from engage.segments.models import Segment, SegmentMembership

pytestmark = pytest.mark.django_db

VIEW = ["profiles.view_profile", "segments.view_segmentmembership", "messaging.view_consent"]
FORMULA = '=HYPERLINK("http://evil.example","click")'


def customer(workspace, email, **traits):
    profile = Profile.objects.create(workspace=workspace, traits=traits)
    Identity.objects.create(workspace=workspace, profile=profile, kind="email", value=email)
    return profile


def export(client, url: str, resource: str, fields: list[str]) -> list[dict]:
    form = {"format": "0", "resource": "0", **{f"{resource}_{f}": "on" for f in fields}}
    response = client.post(url, form)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_customers_export_with_traits_and_identities_of_the_users_workspace_only(
    make_operator, workspace, other_workspace
):
    ws = workspace.workspace
    ada = customer(ws, "ada@example.com", plan="gold")
    Identity.objects.create(workspace=ws, profile=ada, kind="user_id", value="u-1")
    customer(other_workspace.workspace, "bea@globex.example")
    staff = make_operator("ann", ws, permissions=[*VIEW, "imports.export_data"])

    rows = export(
        staff,
        "/admin/profiles/profile/export/",
        "customerresource",
        ["id", "traits", "identities"],
    )

    assert rows == [
        {
            "id": str(ada.pk),
            "traits": '{"plan": "gold"}',
            "identities": "email:ada@example.com user_id:u-1",
        }
    ]


def test_an_exported_cell_a_spreadsheet_would_run_is_text(make_operator, workspace):
    ws = workspace.workspace
    segment = Segment.objects.create(workspace=ws, name=FORMULA, kind=Segment.STATIC)
    ada = customer(ws, "ada@example.com")
    SegmentMembership.objects.create(segment=segment, profile=ada, entered_at=ada.created_at)
    staff = make_operator("ann", ws, permissions=[*VIEW, "imports.export_data"])

    rows = export(
        staff,
        "/admin/segments/segmentmembership/export/",
        "staticmemberresource",
        ["segment", "profile"],
    )

    assert rows == [{"segment": "'" + FORMULA, "profile": str(ada.pk)}]


@pytest.mark.parametrize(
    "url",
    [
        "/admin/profiles/profile/",
        "/admin/messaging/consent/",
        "/admin/segments/segmentmembership/",
    ],
    ids=["customers", "consents", "static-members"],
)
def test_without_the_export_permission_there_is_no_button_and_no_export(
    make_operator, workspace, url
):
    ws = workspace.workspace
    Consent.objects.create(
        workspace=ws,
        profile=customer(ws, "ada@example.com"),
        status=Consent.OPTED_OUT,
        source="api",
        created_at="2026-03-02T09:00:00Z",
    )
    viewer = make_operator("vic", ws, permissions=VIEW)
    exporter = make_operator("eve", ws, permissions=[*VIEW, "imports.export_data"])

    assert f'href="{url}export/' not in viewer.get(url).content.decode()
    assert viewer.get(f"{url}export/").status_code == 403
    assert viewer.post(f"{url}export/", {"format": "0"}).status_code == 403
    assert f'href="{url}export/' in exporter.get(url).content.decode()


IMPORT_URL = "/admin/segments/segmentmembership/import/"


def preview(client, content: str):
    upload = SimpleUploadedFile("members.csv", content.encode(), content_type="text/csv")
    return client.post(IMPORT_URL, {"format": "0", "import_file": upload})


def confirm(client, page) -> None:
    """Posts the preview's confirm form, as the operator's click does."""
    process = "/admin/segments/segmentmembership/process_import/"
    form = page.content.decode().split(f'action="{process}"')[1]
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.split("</form>")[0]))
    done = client.post(process, fields)
    assert done.status_code == 302, done.content[:500]


def test_static_members_are_imported_after_a_preview_with_every_bad_row(
    make_operator, workspace, other_workspace
):
    ws = workspace.workspace
    vip = Segment.objects.create(workspace=ws, name="VIP", kind=Segment.STATIC)
    Segment.objects.create(workspace=other_workspace.workspace, name="Theirs", kind=Segment.STATIC)
    ada = customer(ws, "ada@example.com")
    customer(ws, "bo@example.com")
    staff = make_operator("ann", ws, permissions=[*VIEW, "imports.import_data"])

    bad = preview(
        staff,
        "segment,kind,value\nVIP,email,ada@example.com\nTheirs,email,ada@example.com\n"
        "VIP,email,nobody@example.com\nVIP,email,not-an-email\n",
    )
    text = bad.content.decode()
    assert "no static segment of this name" in text  # another workspace's is not found
    assert "no customer with this email in the workspace" in text
    assert "process_import" not in text  # nothing to confirm
    assert not SegmentMembership.objects.exists()

    good = preview(staff, "segment,kind,value\nVIP,email,ADA@example.com\n")
    assert not SegmentMembership.objects.exists()  # a preview adds nobody
    confirm(staff, good)
    member = SegmentMembership.objects.get()
    assert (member.segment, member.profile) == (vip, ada)


def test_without_the_import_permission_there_is_no_import(make_operator, workspace):
    viewer = make_operator("vic", workspace.workspace, permissions=VIEW)
    listing = viewer.get("/admin/segments/segmentmembership/").content.decode()
    assert f'href="{IMPORT_URL}' not in listing
    assert viewer.get(IMPORT_URL).status_code == 403
    assert preview(viewer, "segment,kind,value\n").status_code == 403
