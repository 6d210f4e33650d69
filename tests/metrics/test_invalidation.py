import datetime as dt

from django.utils import timezone

from engage.events.recording import EventToRecord, record_events
from engage.metrics.attribution import attribution
from engage.metrics.models import RollupCoverage
from engage.metrics.retention import retention
from engage.metrics.services import roll_up
from engage.profiles.merge import merge_profiles, split_merge
from engage.profiles.models import ProfileMerge
from tests.customer_factories import ProfileFactory
from tests.metrics.dataset import END, START, at, did

ROLLED_UP = dt.date(2025, 6, 1)


def coverage(shop) -> set[dt.date]:
    return set(
        RollupCoverage.objects.filter(workspace=shop.workspace).values_list("through", flat=True)
    )


def cohorts(shop) -> dict:
    rows = retention(shop.workspace, start=START, end=END).rows
    return {row["cohort"]: (row["size"], row["active"]) for row in rows}


def order(profile, when: dt.datetime, key: str, on_commit) -> None:
    with on_commit(execute=True):
        record_events(
            [
                EventToRecord(
                    workspace_id=profile.workspace_id,
                    profile_id=profile.pk,
                    name="Order Completed",
                    message_id=key,
                    timestamp=when,
                    properties={"revenue": 10},
                )
            ]
        )


def test_a_back_filled_event_reopens_the_days_from_its_own(
    shop, django_capture_on_commit_callbacks
):
    roll_up(shop.workspace, today=ROLLED_UP)
    closed = coverage(shop)  # 31 May, and Sunday 25 May for weeks
    assert attribution(shop.workspace, start=START, end=END).conversions == 5

    # An import brings Dee's 6 January order, long after January was rolled up.
    order(shop.dee, at(1, 6), "late", django_capture_on_commit_callbacks)
    assert coverage(shop) == {dt.date(2025, 1, 5)}
    assert attribution(shop.workspace, start=START, end=END).conversions == 6
    # Dee's cohort is January now: Ann, Bob and Dee; February keeps Cy.
    assert cohorts(shop) == {"2025-01-01": (3, [3, 2, 2]), "2025-02-01": (1, [1, 0])}

    roll_up(shop.workspace, today=ROLLED_UP)
    assert coverage(shop) == closed
    assert attribution(shop.workspace, start=START, end=END).conversions == 6
    assert cohorts(shop)["2025-01-01"] == (3, [3, 2, 2])


def test_an_event_of_today_leaves_the_rollups_alone(shop, django_capture_on_commit_callbacks):
    roll_up(shop.workspace, today=ROLLED_UP)
    closed = coverage(shop)
    order(shop.dee, timezone.now(), "today", django_capture_on_commit_callbacks)
    assert coverage(shop) == closed


def test_a_merge_and_its_split_reopen_from_the_moved_customer(shop):
    # Hal, first seen 8 January with an order that day, is found to be Dee.
    hal = ProfileFactory(workspace=shop.workspace, first_seen_at=at(1, 8))
    did(hal, "Order Completed", at(1, 8), revenue=10)
    roll_up(shop.workspace, today=ROLLED_UP)
    before = {"2025-01-01": (3, [3, 1, 1]), "2025-02-01": (2, [2, 1])}  # Hal in Jan
    assert cohorts(shop) == before

    merge = merge_profiles(survivor=shop.dee, merged=hal, reason=ProfileMerge.MANUAL)
    assert coverage(shop) == {dt.date(2025, 1, 7)}
    # Dee joins January's cohort (active Jan, Feb, Mar); February keeps Cy.
    assert cohorts(shop) == {"2025-01-01": (3, [3, 2, 2]), "2025-02-01": (1, [1, 0])}

    roll_up(shop.workspace, today=ROLLED_UP)
    split_merge(merge=merge, by="test")
    assert coverage(shop) == {dt.date(2025, 1, 7)}
    assert cohorts(shop) == before
