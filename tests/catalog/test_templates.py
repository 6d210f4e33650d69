"""Recommendations inside messages: ``recommendations.<id>`` in a template,
run once per batch and only for the recommenders the template reads, and the
admin preview for a chosen customer."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.catalog.copurchase import compute_copurchases
from engage.messaging import services
from engage.messaging.models import MessageTemplate
from engage.messaging.services import NewMessage
from engage.plugins.services import configure_plugin

from . import dataset

LOOP = (
    "Picks: {% for item in recommendations.bought_together limit: 3 %}"
    "{{ item.title }} at {{ item.price }} {{ item.currency }}; {% endfor %}"
)


@pytest.fixture
def shop(workspace):
    ws = workspace.workspace
    people = dataset.build(ws)
    compute_copurchases(ws)
    return ws, people


def send(ws, people, body):
    template = MessageTemplate.objects.create(
        workspace=ws, name=f"t{MessageTemplate.objects.count()}", channel="email", body=body
    )
    made = services.create_messages(
        workspace=ws,
        channel="email",
        category="marketing",
        template=template,
        messages=[NewMessage(profile, f"{template.pk}-{name}") for name, profile in people],
        send_now=False,
    )
    return [created.message.body for created in made]


def test_a_template_loops_over_a_customers_recommendations(shop):
    ws, people = shop
    bodies = send(ws, [(name, people[name]) for name in ("erin", "alice", "dave")], LOOP)
    assert bodies == [
        "Picks: Product B at 19.90 EUR; Product C at 19.90 EUR; ",
        "Picks: Product C at 19.90 EUR; Product E at 19.90 EUR; ",
        "Picks: ",
    ]


def test_each_recommender_the_template_reads_runs_once_per_batch(shop):
    ws, people = shop
    batch = list(people.items())

    with CaptureQueriesContext(connection) as plain:
        send(ws, batch, "Hello {{ traits.first_name }}")
    with CaptureQueriesContext(connection) as looping:
        send(ws, batch, LOOP + "{{ recommendations.bought_together.first.title }}")

    assert not [q for q in plain.captured_queries if "catalog_" in q["sql"]]
    copurchase = [q for q in looping.captured_queries if "catalog_copurchase" in q["sql"]]
    assert len(copurchase) == 1  # five customers, read twice each
    viewed = [q for q in looping.captured_queries if "Product Viewed" in str(q["sql"])]
    assert not viewed  # recently_viewed and popular_in_category were not read


def test_an_unknown_or_disabled_recommender_renders_empty(shop):
    ws, people = shop
    configure_plugin(workspace=ws, plugin_id="bought_together", settings={}, enabled=False)
    body = LOOP + "[{{ recommendations.nope.first.title }}]"
    assert send(ws, [("erin", people["erin"])], body) == ["Picks: []"]


def test_the_admin_preview_shows_a_chosen_customers_recommendations(client, shop):
    ws, people = shop
    template = MessageTemplate.objects.create(workspace=ws, name="t", channel="email", body=LOOP)
    client.force_login(
        get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)
    )

    url = f"/admin/messaging/messagetemplate/{template.pk}/preview/"
    html = client.get(url, {"profile": people["erin"].pk}).content.decode()

    assert "Product B at 19.90 EUR; Product C at 19.90 EUR;" in html
    # Beside the rendered content, what each recommender has for this customer.
    assert "bought_together: Product B, Product C" in html
    assert "popular_in_category: Product B, Product E" in html
    assert "recently_viewed: none" in html
