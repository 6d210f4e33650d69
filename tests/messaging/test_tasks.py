"""A delivery task acts only on a message of the workspace it was queued for."""

import logging

import pytest
from celery import current_app

from engage.messaging.models import Message
from engage.messaging.tasks import send_message
from tests.customer_factories import ProfileFactory

from .helpers import queue_email

pytestmark = pytest.mark.django_db


def test_a_message_of_another_workspace_is_left_alone(workspace, other_workspace, caplog):
    theirs = queue_email(
        other_workspace.workspace, ProfileFactory(workspace=other_workspace.workspace)
    )

    with caplog.at_level(logging.WARNING, logger="engage.messaging.tasks"):
        send_message.apply(args=[theirs.pk, workspace.workspace.pk])

    theirs.refresh_from_db()
    assert (theirs.status, theirs.attempts) == (Message.QUEUED, 0)
    assert f"message {theirs.pk} is not in workspace {workspace.workspace.pk}" in caplog.text


@pytest.mark.parametrize("with_workspace", [True, False], ids=["for-its-workspace", "old-task"])
def test_a_message_of_its_own_workspace_is_handled(workspace, with_workspace):
    ws = workspace.workspace
    message = queue_email(ws, ProfileFactory(workspace=ws))
    args = [message.pk, ws.pk] if with_workspace else [message.pk]

    send_message.apply(args=args)

    message.refresh_from_db()
    # No email channel is enabled: handled means skipped, with the reason.
    assert message.status == Message.SKIPPED
    assert "email is not enabled" in message.error


def test_a_task_queued_under_its_first_name_still_sends(workspace):
    """Messages queued before the task was renamed name it ``deliver_message``."""
    ws = workspace.workspace
    message = queue_email(ws, ProfileFactory(workspace=ws))

    current_app.tasks["engage.messaging.tasks.deliver_message"].apply(args=[message.pk, ws.pk])

    message.refresh_from_db()
    assert message.status == Message.SKIPPED
