"""Loyalty on the embedded SQLite default, in a subprocess with its own file:
earning (and a replay), a refused redemption, tiers, expiry and a merge run
the same statements' SQLite forms."""

import json

import pytest

from tests.live_processes import run_embedded

pytestmark = pytest.mark.slow

SCRIPT = """
import datetime as dt, json
import django
django.setup()
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
# Tables straight from the models: a quarter of the time of every app's migrations.
settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
call_command("migrate", verbosity=0, run_syncdb=True)
from decimal import Decimal
from engage.events.recording import EventToRecord, record_events
from engage.events.signals import events_recorded
from engage.loyalty import services
from engage.loyalty.models import LoyaltyAccount, PointRule, PointsMovement, Programme, TierRule
from engage.loyalty.selectors import template_context
from engage.profiles.merge import merge_profiles
from engage.profiles.models import Profile
from engage.workspaces.services import create_workspace

ws = create_workspace(name="acme").workspace
programme = Programme.objects.create(workspace=ws, name="Club", points_expire_after_days=30)
PointRule.objects.create(programme=programme, event="Order Completed", property="revenue",
                         points_per_unit=Decimal(1))
TierRule.objects.create(programme=programme, name="gold", rank=1, threshold=100)
ada, bob = Profile.objects.create(workspace=ws), Profile.objects.create(workspace=ws)
at = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
recorded = record_events([
    EventToRecord(ws.pk, ada.pk, "Order Completed", "o-1", at, {"revenue": 80.5}),
    EventToRecord(ws.pk, bob.pk, "Order Completed", "o-2", at, {"revenue": 30}),
])
events_recorded.send(sender=None, events=recorded)  # a replay
try:
    services.move_points(profile=ada, kind=PointsMovement.REDEEMED, points=81)
except services.LoyaltyError as exc:
    refused = exc.errors
services.move_points(profile=ada, kind=PointsMovement.REDEEMED, points=30)
merge_profiles(survivor=ada, merged=bob, reason="identify", detail="test")
merged = LoyaltyAccount.objects.get(profile=ada)
before = [merged.points, merged.tier]
services.nightly(programme)
print(json.dumps({
    "refused": refused,
    "merged": before,
    "after_expiry": template_context([ada])[ada.pk],
    "kinds": sorted(PointsMovement.objects.values_list("kind", "points")),
}))
"""


def test_loyalty_runs_on_sqlite(tmp_path):
    result = run_embedded(["-c", SCRIPT], tmp_path / "engage.sqlite3")
    assert result.returncode == 0, result.stderr

    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["refused"] == {"points": ["more than the balance (80 points)"]}
    # Tiers count points earned (110), not the balance left after redeeming.
    assert out["merged"] == [80, "gold"]
    assert out["after_expiry"] == {"tier": "gold", "points": 0, "programme": "Club"}
    assert out["kinds"] == [["earned", 30], ["earned", 80], ["expired", -80], ["redeemed", -30]]
