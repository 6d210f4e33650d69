"""What a workspace's staff can reach in the admin: their workspace, never the server.

Each test logs in staff of one workspace, with every permission an operator
could be given for the page under test, and goes through the admin URLs.
"""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from engage.messaging.models import Consent, Message
from engage.plugins.services import configure_plugin
from engage.workspaces.models import ApiKey
from tests.customer_factories import ProfileFactory

from .conftest import OPERATOR_PERMISSIONS

BEAT_MODELS = ["periodictask", "intervalschedule", "crontabschedule", "solarschedule"]
BEAT_PERMISSIONS = [
    f"django_celery_beat.{verb}_{model}"
    for model in [*BEAT_MODELS, "clockedschedule"]
    for verb in ("view", "add", "change", "delete")
]
AUTH_PERMISSIONS = [
    f"auth.{verb}_{model}" for model in ("user", "group") for verb in ("view", "add", "change")
]


@pytest.fixture
def sweep_task(db):
    every = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(
        name="sweep-messages", task="engage.messaging.tasks.sweep_messages", interval=every
    )


def test_staff_with_every_beat_permission_cannot_see_or_change_the_schedule(
    make_operator, workspace, sweep_task, admin_client
):
    staff = make_operator("ann", workspace.workspace, permissions=BEAT_PERMISSIONS)

    assert "Periodic tasks" not in staff.get(reverse("admin:index")).content.decode()
    for model in [*BEAT_MODELS, "clockedschedule"]:
        assert staff.get(reverse(f"admin:django_celery_beat_{model}_changelist")).status_code == 403
    change = reverse("admin:django_celery_beat_periodictask_changelist")
    disabled = staff.post(change, {"action": "disable_tasks", "_selected_action": [sweep_task.pk]})
    added = staff.post(
        reverse("admin:django_celery_beat_periodictask_add"),
        {
            "name": "steal",
            "regtask": "engage.messaging.tasks.deliver_message",
            "args": "[1]",
            "kwargs": "{}",
            "interval": sweep_task.interval_id,
            "enabled": "on",
        },
    )

    assert disabled.status_code == 403 and added.status_code == 403
    sweep_task.refresh_from_db()
    assert sweep_task.enabled
    assert list(PeriodicTask.objects.values_list("name", flat=True)) == ["sweep-messages"]
    # The server's operator still manages the schedule.
    assert admin_client.get(change).status_code == 200


def test_staff_cannot_list_users_or_make_themselves_superuser(
    make_operator, workspace, other_workspace, admin_client
):
    make_operator("olga", other_workspace.workspace)
    staff = make_operator(
        "ann", workspace.workspace, permissions=[*OPERATOR_PERMISSIONS, *AUTH_PERMISSIONS]
    )
    ann = User.objects.get(username="ann")

    listed = staff.get(reverse("admin:auth_user_changelist"))
    promoted = staff.post(
        reverse("admin:auth_user_change", args=[ann.pk]),
        {"username": "ann", "is_active": "on", "is_staff": "on", "is_superuser": "on"},
    )
    members = staff.get(
        reverse("admin:autocomplete"),
        {"app_label": "workspaces", "model_name": "workspace", "field_name": "members"},
    )

    assert listed.status_code == 403 and promoted.status_code == 403
    assert members.status_code == 403
    assert "olga" not in staff.get(reverse("admin:index")).content.decode()
    ann.refresh_from_db()
    assert not ann.is_superuser
    assert "olga" in admin_client.get(reverse("admin:auth_user_changelist")).content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"settings__auth_token__regex": "^A"},
        {"settings__smtp_password__startswith": "s3"},
        {"settings__contains": "s3"},
        {"settings__has_key": "smtp_password"},
    ],
)
def test_plugin_settings_cannot_be_filtered_on_so_secrets_cannot_be_guessed(
    make_operator, workspace, query
):
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="email",
        settings={
            "from_email": "a@shop.example",
            "smtp_host": "smtp.shop.example",
            "smtp_password": "s3cret",
        },
    )
    staff = make_operator("ann", workspace.workspace, permissions=["plugins.view_pluginconfig"])
    url = reverse("admin:plugins_pluginconfig_changelist")

    assert staff.get(url).status_code == 200
    assert staff.get(url, query).status_code == 400


def test_api_key_hashes_cannot_be_filtered_on(operator, workspace):
    key_hash = ApiKey.objects.filter(workspace=workspace.workspace).first().key_hash
    url = reverse("admin:workspaces_apikey_changelist")

    response = operator.get(url, {"key_hash__startswith": key_hash[:6]})

    assert response.status_code == 400
    assert key_hash[:6] not in response.content.decode()


def test_the_segment_list_names_no_other_workspace(workspace, other_workspace, make_operator):
    staff = make_operator("ann", workspace.workspace, permissions=["segments.view_segment"])

    page = staff.get(reverse("admin:segments_segment_changelist")).content.decode()

    assert "globex" not in page
    assert "workspace__id__exact" not in page


def test_messages_and_consents_cannot_be_deleted_by_hand(make_operator, workspace):
    ws = workspace.workspace
    profile = ProfileFactory(workspace=ws)
    message = Message.objects.create(
        workspace=ws, profile=profile, channel="email", idempotency_key="k-1", subject="Hi"
    )
    consent = Consent.objects.create(
        workspace=ws,
        profile=profile,
        channel="email",
        status=Consent.OPTED_IN,
        source="admin",
        created_at=timezone.now(),
    )
    staff = make_operator(
        "ann",
        ws,
        permissions=[
            "messaging.view_message",
            "messaging.delete_message",
            "messaging.view_consent",
            "messaging.delete_consent",
        ],
    )

    for model, row in (("message", message), ("consent", consent)):
        changelist = reverse(f"admin:messaging_{model}_changelist")
        assert "delete_selected" not in staff.get(changelist).content.decode()
        assert (
            staff.get(reverse(f"admin:messaging_{model}_delete", args=[row.pk])).status_code == 403
        )
        staff.post(
            changelist, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
        )
        staff.post(reverse(f"admin:messaging_{model}_delete", args=[row.pk]), {"post": "yes"})

    assert Message.objects.filter(pk=message.pk).exists()
    assert Consent.objects.filter(pk=consent.pk).exists()


def test_staff_cannot_point_the_mail_server_elsewhere_with_the_stored_password(
    make_operator, workspace, settings
):
    config = configure_plugin(
        workspace=workspace.workspace,
        plugin_id="email",
        settings={
            "from_email": "news@shop.example",
            "smtp_host": "smtp.shop.example",
            "smtp_username": "shop",
            "smtp_password": "s3cret",
        },
    )
    staff = make_operator(
        "ann",
        workspace.workspace,
        permissions=["plugins.view_pluginconfig", "plugins.change_pluginconfig"],
    )
    url = f"/admin/plugins/pluginconfig/{config.pk}/change/"
    form = {
        "enabled": "on",
        "setting_from_email": "news@shop.example",
        "setting_smtp_port": "2525",
        "setting_smtp_username": "shop",
        "setting_timeout": "20",
    }

    for host in ("smtp.attacker.example", "127.0.0.1"):
        page = staff.post(url, {**form, "setting_smtp_host": host})
        assert page.status_code == 200
        assert "smtp_password: required again: smtp_host changed" in page.content.decode()
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = []
    local = staff.post(
        url, {**form, "setting_smtp_host": "127.0.0.1", "setting_smtp_password": "x"}
    )
    assert "smtp_host: 127.0.0.1 is a loopback address" in local.content.decode()

    config.refresh_from_db()
    assert config.settings["smtp_host"] == "smtp.shop.example"
    assert config.settings["smtp_password"] == "s3cret"
