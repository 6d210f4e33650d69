"""A worker that makes journey steps due runs a batch of them itself, and
sends the first chunk of messages they create, right after its commit: the
customer's message leaves without waiting for a broker hop or another worker.
Here there is no broker at all, so only this worker can have sent it."""

import pytest
from celery import shared_task
from django.db import transaction

from engage.journeys import engine
from engage.journeys.models import Enrollment, Journey
from engage.messaging.models import Message
from engage.profiles.models import Profile

from .factories import live_journey
from .test_node_send import WELCOME, customer, email_channel, enroll, smtp_server, welcome

# Committed for real, so that the commit happens inside the worker's task.
pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["customer", "email_channel", "smtp_server", "welcome"]


@shared_task(name="tests.journeys.enter_as_a_worker")
def enter_as_a_worker(journey_id: int, profile_id: int) -> None:
    """What a worker's task that enters a customer does (as ``entry`` does)."""
    journey = Journey.objects.get(pk=journey_id)
    with transaction.atomic():
        enroll(journey, Profile.objects.get(pk=profile_id))
        engine.kick()


def test_the_worker_that_entered_a_customer_sends_their_first_message_itself(
    settings,
    workspace,
    email_channel,
    welcome,
    customer,
    smtp_server,
    django_capture_on_commit_callbacks,
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    journey = live_journey(workspace.workspace, WELCOME)

    # Called as a worker runs a task (not eagerly).
    enter_as_a_worker(journey.pk, customer.pk)

    [received] = smtp_server.messages
    assert received["to"] == ["ada@example.com"]
    assert Message.objects.get(profile=customer).status == Message.SENT
    assert Enrollment.objects.get(profile=customer).end_reason == Enrollment.COMPLETED
