"""A journey step or a broadcast creates its messages in one batch:
each customer's copy rendered for them, each key stored once."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from engage.messaging import services
from engage.messaging.models import Message, MessageTemplate
from engage.messaging.rendering import TemplateError
from engage.messaging.services import NewMessage
from engage.profiles.models import Identity, Profile
from engage.scoring.models import Score
from tests.customer_factories import EventFactory, ProfileFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def template(workspace):
    return MessageTemplate.objects.create(
        workspace=workspace.workspace,
        name="cart",
        channel="email",
        subject="{{ traits.first_name }}, your cart",
        body=(
            "Hi {{ traits.first_name | default: city }} at {{ profile.identities.email }}, "
            "{{ event.properties.item }} waits. RFM {{ scores.rfm.cell }}"
        ),
        variants={"fr": {"subject": "{{ traits.first_name }}, votre panier"}},
    )


def customers(workspace, count: int, start: int = 0) -> list[Profile]:
    ws = workspace.workspace
    people = []
    for i in range(start, start + count):
        profile = ProfileFactory(workspace=ws, traits={"first_name": f"P{i}"})
        Identity.objects.create(workspace=ws, profile=profile, kind="email", value=f"p{i}@x.io")
        people.append(profile)
    return people


def create(workspace, template, messages, **options):
    return services.create_messages(
        workspace=workspace.workspace,
        channel="email",
        category="marketing",
        template=template,
        messages=messages,
        **options,
    )


def test_each_customer_gets_the_template_rendered_for_them(workspace, template):
    ada, bob = customers(workspace, 2)
    bob.locale = "fr-CA"
    bob.save()
    Score.objects.create(
        workspace=workspace.workspace,
        profile=ada,
        model="rfm",
        value=5,
        cell="champions",
        computed_at=timezone.now(),
    )
    event = EventFactory(profile=bob, properties={"item": "a lamp"})

    created = create(
        workspace,
        template,
        [
            NewMessage(ada, "j1:ada", journey_id=1, journey_version=2, journey_node_id="n3"),
            NewMessage(bob, "j1:bob", event=event, enrollment_id=77),
        ],
        send_now=False,
    )

    assert [c.created for c in created] == [True, True]
    first, second = (Message.objects.get(pk=c.message.pk) for c in created)
    assert (first.subject, first.body) == (
        "P0, your cart",
        "Hi P0 at p0@x.io,  waits. RFM champions",
    )
    assert (second.subject, second.locale) == ("P1, votre panier", "fr-CA")
    assert second.body == "Hi P1 at p1@x.io, a lamp waits. RFM "
    assert (first.source, first.journey_id, first.journey_version, first.journey_node_id) == (
        "journey",
        1,
        2,
        "n3",
    )
    assert (second.enrollment_id, second.status, first.template_id) == (77, "queued", template.pk)
    # Rows follow their customer through a later merge and split like any other.
    assert (first.origin_profile_id, second.origin_profile_id) == (ada.pk, bob.pk)


def test_the_whole_batch_costs_the_same_queries_as_a_few(
    workspace, template, django_assert_max_num_queries
):
    few, many = customers(workspace, 2), customers(workspace, 40, start=2)
    with django_assert_max_num_queries(8) as few_queries:
        create(workspace, template, [NewMessage(p, f"few-{p.pk}") for p in few], send_now=False)
    with django_assert_max_num_queries(len(few_queries)):
        create(workspace, template, [NewMessage(p, f"many-{p.pk}") for p in many], send_now=False)
    assert Message.objects.filter(workspace=workspace.workspace).count() == 42


def test_a_second_call_returns_the_stored_rows_and_stores_nothing(workspace, template):
    ada, bob, cy = customers(workspace, 3)
    first = create(workspace, template, [NewMessage(ada, "k-ada"), NewMessage(bob, "k-bob")])
    # The template changes meanwhile: stored messages keep what they were sent as.
    template.subject = "changed"
    template.save()

    again = create(
        workspace,
        template,
        [NewMessage(bob, "k-bob"), NewMessage(cy, "k-cy"), NewMessage(cy, "k-cy")],
        send_now=False,
    )

    assert [(c.message.pk, c.created) for c in again[:1]] == [(first[1].message.pk, False)]
    assert again[1].created and not again[2].created
    assert again[2].message.pk == again[1].message.pk, "a key repeated in the batch is one row"
    assert again[0].message.subject == "P1, your cart"
    assert Message.objects.filter(workspace=workspace.workspace).count() == 3


def test_messages_due_now_are_sent_in_chunks_and_later_ones_wait(
    workspace,
    template,
    email_channel,
    smtp_server,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.ENGAGE_SEND_CHUNK_SIZE = 2
    people = customers(workspace, 6)
    later = timezone.now() + dt.timedelta(hours=2)
    batch = [NewMessage(p, f"c-{p.pk}") for p in people[:5]]
    batch.append(NewMessage(people[5], "c-later", send_at=later))

    with django_capture_on_commit_callbacks() as published:
        create(workspace, template, batch)
    assert len(published) == 3, "five due messages in chunks of two"
    for publish in published:
        publish()

    assert sorted(m["to"][0] for m in smtp_server.messages) == [f"p{i}@x.io" for i in range(5)]
    waiting = Message.objects.get(idempotency_key="c-later")
    assert (waiting.status, waiting.next_attempt_at) == (Message.QUEUED, later)


FAR = dt.timedelta(days=400)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"send_at": FAR}, "messages[1].send_at"),
        ({"idempotency_key": "k" * 201}, "messages[1].idempotency_key"),
        ({"profile": "other"}, "messages[1].profile"),
    ],
    ids=["send_at-too-far", "key-too-long", "customer-of-another-workspace"],
)
def test_a_bad_item_is_refused_naming_it_and_nothing_is_stored(
    workspace, other_workspace, template, change, field
):
    ada, bob = customers(workspace, 2)
    if "send_at" in change:
        change = {"send_at": timezone.now() + FAR}
    if change.get("profile") == "other":
        change = {"profile": ProfileFactory(workspace=other_workspace.workspace)}
    bad = {"profile": bob, "idempotency_key": "k-bob", **change}

    with pytest.raises(services.MessageInputError) as refused:
        create(workspace, template, [NewMessage(ada, "k-ada"), NewMessage(**bad)])

    assert refused.value.field == field
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"category": "promo"}, "category"),
        ({"channel": "pigeon"}, "channel"),
        ({"source": "cron"}, "source"),
        ({"template": None}, "template"),
    ],
    ids=["category", "channel", "source", "no-template"],
)
def test_bad_batch_options_are_refused_naming_the_field(workspace, template, options, field):
    (ada,) = customers(workspace, 1)
    arguments = {
        "workspace": workspace.workspace,
        "channel": "email",
        "category": "marketing",
        "template": template,
        "messages": [NewMessage(ada, "k")],
        **options,
    }

    with pytest.raises(services.MessageInputError) as refused:
        services.create_messages(**arguments)

    assert refused.value.field == field
    assert not Message.objects.exists()


def test_a_template_of_another_channel_or_empty_for_one_customer_is_refused(workspace, template):
    ada, bob = customers(workspace, 2)
    sms = MessageTemplate.objects.create(
        workspace=workspace.workspace, name="sms", channel="sms", body="Hi"
    )
    with pytest.raises(services.MessageInputError, match="is for sms, not email"):
        create(workspace, sms, [NewMessage(ada, "a")])

    only_name = MessageTemplate.objects.create(
        workspace=workspace.workspace, name="name", channel="email", body="{{ traits.nick }}"
    )
    bob.traits = {"nick": "Bobby"}
    bob.save()
    with pytest.raises(services.MessageInputError) as refused:
        create(workspace, only_name, [NewMessage(bob, "b"), NewMessage(ada, "a")])
    assert refused.value.field == "messages[1].body"

    broken = MessageTemplate.objects.create(
        workspace=workspace.workspace,
        name="broken",
        channel="email",
        body="{% for i in (1..100000) %}{% endfor %}",
    )
    with pytest.raises(TemplateError, match=r"^messages\[0\]\.body: "):
        create(workspace, broken, [NewMessage(ada, "c")])
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_batches_racing_with_overlapping_keys_store_each_key_once(workspace, template):
    people = customers(workspace, 12)
    batches = [
        [NewMessage(p, f"race-{p.pk}") for p in people[:8]],
        [NewMessage(p, f"race-{p.pk}") for p in people[4:]],
        [NewMessage(p, f"race-{p.pk}") for p in people[::-1]],
    ]
    barrier = threading.Barrier(len(batches))
    results, errors = [None] * len(batches), []

    def run(index):
        try:
            barrier.wait(timeout=10)
            results[index] = create(workspace, template, batches[index], send_now=False)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    by_key = {}
    for created in (c for result in results for c in result):
        by_key.setdefault(created.message.idempotency_key, set()).add(created.message.pk)
    assert all(len(ids) == 1 for ids in by_key.values())
    assert Message.objects.count() == 12
    created_flags = [c.created for result in results for c in result]
    assert created_flags.count(True) == 12, "each key reported created by exactly one caller"
