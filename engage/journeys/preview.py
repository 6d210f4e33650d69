"""Before publishing: whom a version would take in, and what its first steps would do to them.

"This trigger matches N customers today; this branch condition holds for M
of them; these K customers cannot be reached on the first rung." The
audience is who the trigger let in over the last day (``AUDIENCE_DAYS``): an
event trigger's event with its filters, or the segment's
``segment_entered`` / ``segment_exited`` events, the same events a live
journey listens to. It is written as a segment rule tree, so the segments
compiler counts it in one query, and each branch as one more (the audience
and the condition); no customer id passes through Python for those.

Who cannot be reached on a send node's channel, or on a ladder's first
rung, follows ``reach``, the rules the engine itself applies at the step:
the channel enabled, an address (an identity of the channel's kind, else its
trait), consent as policy judges it (an opt-out of the topic, or of
marketing, on the channel or on all; SMS-like channels need an opt-in). For
the channels that find addresses that way these are rule trees too (the
``identity``, ``trait`` and ``consent`` conditions), one count per reason;
a test holds them to ``reach``'s verdicts. A channel that finds addresses its
own way (web push reads a subscription) can only be asked through ``reach``:
the audience is then read 1,000 customers at a time, a few queries each. A
``push`` rung reaches a customer on ``push`` or ``webpush``.
"""

import datetime
import itertools
from dataclasses import dataclass, field

from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils import timezone

from engage.messaging.models import Consent, Message
from engage.plugins.base import Channel
from engage.plugins.selectors import enabled_channel
from engage.profiles.models import Profile
from engage.segments.compiler import member_query
from engage.segments.membership import ENTERED, EXITED

from . import reach
from .models import JourneyVersion
from .nodes.ladder import PUSH, PUSH_CHANNELS
from .selectors import walk_order

AUDIENCE_DAYS = 1
CHUNK = 1000
SAMPLE = 10  # customers named per node that cannot be reached


@dataclass
class Unreachable:
    """Customers of the audience a message node cannot reach on its (first) channel."""

    node_id: str
    channel: str
    count: int = 0
    sample: list[int] = field(default_factory=list)  # the first ``SAMPLE`` ids
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class Preview:
    """``audience`` is None for a journey customers enter only by hand."""

    audience: int | None
    hours: int = AUDIENCE_DAYS * 24  # the audience's window
    branches: dict[str, int] = field(default_factory=dict)  # node id: holds for
    unreachable: list[Unreachable] = field(default_factory=list)


def preview(version: JourneyVersion, *, now: datetime.datetime | None = None) -> Preview:
    now = now or timezone.now()
    definition = version.definition
    workspace = version.journey.workspace
    audience = audience_rules(definition.get("trigger") or {})
    if audience is None:
        return Preview(audience=None)
    nodes = definition.get("nodes", {})
    result = Preview(audience=_count(audience, workspace.pk, now))
    for node_id in walk_order(definition):
        node = nodes[node_id]
        if node.get("type") == "branch":
            rules = {"and": [audience, node["condition"]]}
            result.branches[node_id] = _count(rules, workspace.pk, now) if result.audience else 0
        rung = _first_rung(node)
        if rung is not None:
            found = Unreachable(node_id=node_id, channel=rung.channel)
            if result.audience:
                _find_unreachable(found, rung, workspace=workspace, audience=audience, now=now)
            result.unreachable.append(found)
    return result


def audience_rules(trigger: dict) -> dict | None:
    """The segment rule tree of who ``trigger`` let in over the last day."""
    if "event" in trigger:
        body = {"name": trigger["event"], "where": trigger.get("where", [])}
    elif "segment" in trigger:
        name = EXITED if trigger.get("on") == "leave" else ENTERED
        where = [{"property": "segment_id", "op": "equals", "value": trigger["segment"]}]
        body = {"name": name, "where": where}
    else:
        return None
    return {"event": {**body, "within_days": AUDIENCE_DAYS}}


@dataclass(frozen=True)
class Rung:
    channel: str  # as the node names it (a ladder's ``push`` rung)
    channels: tuple[str, ...]  # any of them reaches the customer
    category: str
    topic: str


def _first_rung(node: dict) -> Rung | None:
    """What a message node tries first; None for a node that sends nothing."""
    if node.get("type") == "send":
        channel = node["channel"]
        return Rung(channel, (channel,), node["category"], node.get("topic", ""))
    if node.get("type") == "ladder":
        channel = node["rungs"][0]["channel"]
        channels = PUSH_CHANNELS if channel == PUSH else (channel,)
        category = node.get("category", Message.MARKETING)
        return Rung(channel, channels, category, node.get("topic", ""))
    return None


def _count(rules: dict, workspace_id: int, now) -> int:
    query = member_query(rules, workspace_id=workspace_id, now=now)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({query.sql}) audience", query.params)  # noqa: S608 - the compiled query is parameterized
        return cursor.fetchone()[0]


def _find_unreachable(found: Unreachable, rung: Rung, *, workspace, audience: dict, now) -> None:
    channels = [enabled_channel(workspace=workspace, channel_id=c) for c in rung.channels]
    channels = [channel for channel in channels if channel is not None]
    if not channels:
        everyone = _count(audience, workspace.pk, now)
        found.count, found.reasons = everyone, {reach.CHANNEL_DISABLED: everyone}
        found.sample = _first_ids(audience, workspace.pk, now)
        return
    refusals = [_refusals(channel, rung) for channel in channels]
    if any(rules is None for rules in refusals):
        _find_unreachable_in_chunks(found, rung, workspace=workspace, audience=audience, now=now)
        return
    # Reached on any of the rung's channels is reached: unreachable on every
    # one, and counted by the reason the last of them gives (as reach would).
    *others, last = refusals
    unreachable_on_others = [{"or": [rules for _, rules in why]} for why in others]
    for reason, rules in last:
        count = _count({"and": [audience, *unreachable_on_others, rules]}, workspace.pk, now)
        if count:
            found.reasons[reason] = count
            found.count += count
    if found.count:
        anywhere = {"or": [rules for _, rules in last]}
        found.sample = _first_ids(
            {"and": [audience, *unreachable_on_others, anywhere]}, workspace.pk, now
        )


def _refusals(channel: Channel, rung: Rung) -> list[tuple[str, dict]] | None:
    """Why ``channel`` would refuse a customer of the rung, as rule trees by
    reason, in reach's order and excluding each other (consent is judged
    only where there is an address); None for a channel that finds
    addresses its own way, which only ``reach`` can judge."""
    own_lookup = type(channel).address_for is not Channel.address_for
    if own_lookup or not (channel.address_kind or channel.address_trait):
        return None
    has_address = []
    if channel.address_kind:
        has_address.append({"identity": {"kind": channel.address_kind}})
    if channel.address_trait:
        trait = channel.address_trait
        has_address.append(
            {
                "and": [
                    {"trait": {"key": trait, "op": "exists"}},
                    {"trait": {"key": trait, "op": "not_equals", "value": ""}},
                ]
            }
        )
    addressed = {"or": has_address}
    topic = rung.topic or rung.category
    opted_out = [_consent(channel, topic, Consent.OPTED_OUT)]
    if rung.category == Message.MARKETING and topic != Consent.MARKETING:
        opted_out.append(_consent(channel, Consent.MARKETING, Consent.OPTED_OUT))
    refusals = [
        (reach.NO_ADDRESS, {"not": addressed}),
        (reach.OPTED_OUT, {"and": [addressed, {"or": opted_out}]}),
    ]
    if rung.category == Message.MARKETING and channel.capabilities.needs_opt_in:
        opted_in = _consent(channel, topic, Consent.OPTED_IN)
        refusals.append(
            (reach.NO_OPT_IN, {"and": [addressed, {"not": {"or": [*opted_out, opted_in]}}]})
        )
    return refusals


def _consent(channel: Channel, topic: str, status: str) -> dict:
    return {"consent": {"channel": channel.id, "topic": topic, "status": status}}


def _first_ids(rules: dict, workspace_id: int, now) -> list[int]:
    query = member_query(rules, workspace_id=workspace_id, now=now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT q.id FROM ({query.sql}) q ORDER BY q.id LIMIT %s",  # noqa: S608 - the compiled query is parameterized
            [*query.params, SAMPLE],
        )
        return [row[0] for row in cursor.fetchall()]


def _find_unreachable_in_chunks(
    found: Unreachable, rung: Rung, *, workspace, audience: dict, now
) -> None:
    query = member_query(audience, workspace_id=workspace.pk, now=now)
    profiles = (
        Profile.objects.filter(pk__in=RawSQL(query.sql, query.params))  # noqa: S611 - the compiled query is parameterized
        .only("id", "traits")
        .order_by("pk")
        .iterator(chunk_size=CHUNK)
    )
    while chunk := list(itertools.islice(profiles, CHUNK)):
        refused: dict[int, str] | None = None
        for channel_id in rung.channels:
            _, _, why = reach.reachable(
                workspace=workspace,
                channel_id=channel_id,
                profiles=chunk,
                category=rung.category,
                topic=rung.topic,
            )
            # Reached on any of the rung's channels is reached.
            refused = {
                pk: reason
                for pk, (reason, _detail) in why.items()
                if refused is None or pk in refused
            }
        found.count += len(refused)
        for pk in sorted(refused):
            if len(found.sample) < SAMPLE:
                found.sample.append(pk)
            found.reasons[refused[pk]] = found.reasons.get(refused[pk], 0) + 1
