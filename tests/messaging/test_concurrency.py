"""Racing workers and requests on real PostgreSQL, with threads started together."""

import threading

import pytest
from django.db import connection

from engage.messaging import sending
from engage.messaging.models import Message, MessagingPolicy

from .helpers import queue_email

pytestmark = pytest.mark.django_db(transaction=True)


def race(function, times: int) -> list:
    barrier = threading.Barrier(times)
    results: list = [None] * times
    errors: list = []

    def worker(index):
        try:
            barrier.wait(timeout=10)
            results[index] = function()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def test_workers_racing_for_one_message_send_it_once(
    workspace, email_channel, customer, smtp_server
):
    message = queue_email(workspace.workspace, customer)

    results = race(lambda: sending.send_message(message.pk), 4)

    assert sorted(results, key=str) == [None, None, None, "sent"]
    assert len(smtp_server.messages) == 1
    assert Message.objects.get(pk=message.pk).attempts == 1


def test_requests_racing_with_one_idempotency_key_make_one_message(
    workspace, email_channel, customer
):
    ids = race(lambda: queue_email(workspace.workspace, customer, key="signup-1").pk, 4)

    assert len(set(ids)) == 1
    assert Message.objects.filter(workspace=workspace.workspace).count() == 1


def test_two_workers_never_both_take_the_last_slot(workspace, email_channel, customer, smtp_server):
    MessagingPolicy.objects.create(workspace=workspace.workspace, total_per_day=1)
    first = queue_email(workspace.workspace, customer, category="marketing")
    second = queue_email(workspace.workspace, customer, category="marketing")
    # Both are due; each worker takes its own message at the same moment.
    pending = iter([first.pk, second.pk])
    lock = threading.Lock()

    def work():
        with lock:
            message_id = next(pending)
        return sending.send_message(message_id)

    race(work, 2)

    assert len(smtp_server.messages) == 1
    statuses = sorted(Message.objects.values_list("status", flat=True))
    assert statuses in (["deferred", "sent"], ["sent", "skipped"])
