"""The demo's summary of its sample customer counts what it says it counts."""

from datetime import UTC, datetime, timedelta

import pytest

from engage.demo import customer
from engage.metrics.crosschannel import crosschannel
from engage.profiles.merge import split_merge

pytestmark = pytest.mark.django_db


def test_the_summary_counts_her_devices_channels_and_standing_merges(workspace):
    ada = customer.seed(workspace.workspace).profile

    before = customer.describe(ada)
    split_merge(merge=ada.merges_in.get(), by="test")
    after = customer.describe(ada)

    assert (
        "7 events on 2 devices and 3 channels (mobile, web, whatsapp); 1 merge in effect" in before
    )
    assert "; 0 merges in effect" in after  # a split merge no longer counts


def test_her_whatsapp_message_counts_as_engaging_on_whatsapp(workspace):
    customer.seed(workspace.workspace)
    today = datetime.now(UTC).date()

    result = crosschannel(workspace.workspace, start=today - timedelta(days=7), end=today)

    one_channel = next(
        row for row in result.rows if row["group"] == "channels" and row["key"] == "1"
    )
    assert (one_channel["customers"], one_channel["converted"]) == (1, 1)
