"""Every hook engage calls, in one place: this module is the extension surface.

Implement a hook with ``@hookimpl`` (``from engage.plugins import hookimpl``)
in a module registered under the ``engage.plugins`` entry-point group. Hook
arguments are keyword-only in spirit: an implementation may accept any subset
of them, so adding an argument later does not break existing plugins.
Unless a hook says ``firstresult``, engage calls every implementation and
collects the non-None results. docs/plugins.md has a section and an example
for each hook (a test fails when one is missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pluggy

from . import PROJECT_NAME
from .base import Channel, Decision, Importer, Recommender, ScoringModel

if TYPE_CHECKING:
    from engage.events.models import Event
    from engage.messaging.models import Message
    from engage.profiles.models import Profile
    from engage.workspaces.models import Workspace

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec
def engage_channels() -> list[type[Channel]]:
    """Channels this plugin provides.

    :return: ``Channel`` subclasses. All results are collected into one
        registry keyed by ``id``; two channels with the same ``id`` are a
        configuration error that names both plugins.
    """


@hookspec
def engage_scoring_models() -> list[type[ScoringModel]]:
    """Scoring models this plugin provides (churn risk, RFM, propensity...).

    :return: ``ScoringModel`` subclasses, each scoring a whole workspace with
        one SELECT. Collected and checked like channels; every model scores
        every workspace that has not disabled it.
    """


@hookspec
def engage_importers() -> list[type[Importer]]:
    """Source importers this plugin provides (CRM, POS, support desk, CSV).

    :return: ``Importer`` subclasses. Collected and checked like channels.
    """


@hookspec
def engage_recommenders() -> list[type[Recommender]]:
    """Product recommenders this plugin provides (bought together, similar...).

    :return: ``Recommender`` subclasses, each answering for a batch of
        customers at once. Collected and checked like channels; templates see
        each enabled one as ``recommendations.<id>``.
    """


@hookspec
def engage_enrich_event(event: Event, workspace: Workspace) -> dict[str, Any] | None:
    """Extra properties for an event before its profile is updated.

    Must not write to the database: processing may run again for the same event.

    :param event: the ``Event`` being processed.
    :param workspace: its ``Workspace``.
    :return: a dict merged into ``event.properties`` (later plugins win on the
        same key), or None to add nothing. All results are collected.
    """


@hookspec
def engage_check_send(
    message: Message, profile: Profile, now: datetime, claimed: Sequence[Message]
) -> Decision | None:
    """A policy verdict on a message about to be sent.

    Runs at send time, after engage's own consent, quiet-hours and cap checks
    let the message through; every skip or deferral is written to the
    decision log with its reason.

    :param message: the ``Message`` (channel, category, workspace).
    :param profile: the customer's ``Profile``.
    :param now: the current time.
    :param claimed: the customer's other messages let through in the same
        chunk, not yet written as sent: a check that counts what the customer
        was sent counts these too. An implementation may leave it out of its
        signature.
    :return: a ``Decision`` to skip or defer the send, or None for no opinion.
        All results are collected: any skip wins over any defer, and a defer
        waits for the latest proposed time.
    """


@hookspec
def engage_node_types() -> list[Any]:
    """Journey node types this plugin provides (a CRM task, a ticket...).

    :return: modules (or classes) shaped like engage's own node types in
        ``engage/journeys/nodes/``: a ``TYPE`` string and ``outcomes(node)``,
        ``validate(checker, node, path)`` and ``run(batch)``. Collected with
        the built-in types into one registry keyed by ``TYPE``; a type that
        is already taken (built-in or another plugin's) is a configuration
        error that names both.
    """
