"""The demo's summary of its sample customer counts what it says it counts."""

import pytest

from engage.demo import customer
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
