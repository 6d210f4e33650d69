"""Templates see the customer's loyalty state, a batch of customers in two queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.loyalty.selectors import template_context
from engage.messaging.rendering import Content, profile_contexts, render
from tests.customer_factories import ProfileFactory

from .helpers import make_programme, record

pytestmark = pytest.mark.django_db

TEMPLATE = Content(
    body="{{ loyalty.programme }}: {{ loyalty.tier | default: 'member' }}, "
    "{{ loyalty.points }} points"
)


def test_a_template_renders_each_customers_tier_and_points(workspace, other_workspace):
    make_programme(workspace.workspace, tiers=[{"name": "gold", "rank": 1, "threshold": 100}])
    ada, bob = ProfileFactory.create_batch(2, workspace=workspace.workspace)
    stranger = ProfileFactory(workspace=other_workspace.workspace)
    record(ada, message_id="o-1", revenue=250)

    contexts = profile_contexts([(p, None, None) for p in (ada, bob, stranger)])

    assert [render(TEMPLATE, c).body for c in contexts] == [
        "Club: gold, 250 points",
        "Club: member, 0 points",
        ": member,  points",  # no programme in that workspace: nothing to show
    ]


def test_the_context_of_many_customers_costs_two_queries(workspace):
    make_programme(workspace.workspace)
    members = ProfileFactory.create_batch(20, workspace=workspace.workspace)
    for n, member in enumerate(members[:10]):
        record(member, message_id=f"o-{n}", revenue=n + 1)

    with CaptureQueriesContext(connection) as queries:
        found = template_context(members)

    assert len(queries) == 2
    assert [found[m.pk]["points"] for m in members] == [*range(1, 11), *[0] * 10]
