"""Points from events, a chunk of ``events_recorded`` at a time.

One query finds the programmes that care about the chunk's event names (a
point rule's event, or the spend event of spend-based tiers); a chunk no
programme cares about costs only that. Then one query reads the matching
events' current profile and properties (a merge since may have moved them),
one INSERT writes the movements (a replayed event's (rule, event) pair is
stored already, so it earns nothing twice), one UPDATE adds them to the
balances, and the tiers of the customers concerned are recalculated.
"""

import datetime
from collections import defaultdict

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from engage.events.models import Event
from engage.events.signals import RecordedEvent

from . import ledger, tiers
from .models import PointsMovement, Programme, TierRule
from .rules import points_for


def earn(events: list[RecordedEvent]) -> int:
    """Apply the point rules to ``events``; returns the movements written."""
    names = {event.name for event in events if event.name}
    if not names:
        return 0
    programmes = {
        programme.workspace_id: programme
        for programme in Programme.objects.filter(
            workspace_id__in={event.workspace_id for event in events}
        )
        .filter(Q(point_rules__event__in=names) | Q(spend_event__in=names))
        .distinct()
        .prefetch_related("point_rules", "tiers")
    }
    if not programmes:
        return 0
    wanted = [
        event.id
        for event in events
        if event.workspace_id in programmes and _cares(programmes[event.workspace_id], event.name)
    ]
    rows = Event.objects.filter(pk__in=wanted, profile__isnull=False).values_list(
        "pk", "workspace_id", "name", "profile_id", "timestamp", "properties"
    )
    now = timezone.now()
    movements, touched = [], defaultdict(set)
    for event_id, workspace_id, name, profile_id, timestamp, properties in rows:
        programme = programmes[workspace_id]
        if name == programme.spend_event and _ranks_by_spend(programme):
            touched[programme].add(profile_id)
        for rule in programme.point_rules.all():
            points = points_for(rule, properties, now=now) if rule.event == name else 0
            if points <= 0:
                continue
            days = programme.points_expire_after_days
            movements.append(
                ledger.NewMovement(
                    workspace_id=workspace_id,
                    programme_id=programme.pk,
                    profile_id=profile_id,
                    kind=PointsMovement.EARNED,
                    points=points,
                    occurred_at=timestamp,
                    rule_id=rule.pk,
                    event_id=event_id,
                    event_time=timestamp,
                    expires_at=timestamp + datetime.timedelta(days=days) if days else None,
                    reason=str(rule),
                )
            )
    by_pk = {programme.pk: programme for programme in programmes.values()}
    with transaction.atomic():
        written = ledger.write(movements)
        for row in written:
            touched[by_pk[row.programme_id]].add(row.profile_id)
        for programme, profile_ids in touched.items():
            if programme.tiers.all():
                ledger.open_accounts(
                    {(programme.workspace_id, programme.pk, p) for p in profile_ids}
                )
                tiers.recalculate(programme, profile_ids, now=now)
    return len(written)


def _cares(programme: Programme, name: str) -> bool:
    if name == programme.spend_event and _ranks_by_spend(programme):
        return True
    return any(rule.event == name for rule in programme.point_rules.all())


def _ranks_by_spend(programme: Programme) -> bool:
    return any(tier.measure == TierRule.SPEND for tier in programme.tiers.all())
