"""Every hook engage calls, in one place: this module is the extension surface.

Implement a hook with ``@hookimpl`` (``from engage.plugins import hookimpl``)
in a module registered under the ``engage.plugins`` entry-point group. Hook
arguments are keyword-only in spirit: an implementation may accept any subset
of them, so adding an argument later does not break existing plugins.
Unless a hook says ``firstresult``, engage calls every implementation and
collects the non-None results. docs/plugins.md has an example for each hook.
"""

import pluggy

from . import PROJECT_NAME

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec
def engage_channels():
    """Channels this plugin provides.

    Receives nothing. Returns a list of ``engage.plugins.base.Channel``
    subclasses. All results are collected; two channels with the same ``id``
    are a configuration error that names both plugins.
    """


@hookspec
def engage_scoring_models():
    """Scoring models this plugin provides (churn risk, RFM, propensity...).

    Receives nothing. Returns a list of ``engage.plugins.base.ScoringModel``
    subclasses. All results are collected; ids must be unique.
    """


@hookspec
def engage_importers():
    """Source importers this plugin provides (CRM, POS, support desk, CSV).

    Receives nothing. Returns a list of ``engage.plugins.base.Importer``
    subclasses. All results are collected; ids must be unique.
    """


@hookspec
def engage_enrich_event(event, workspace):
    """Extra properties for an event before its profile is updated.

    Receives the ``Event`` being processed and its ``Workspace``. Returns a
    dict merged into ``event.properties`` (later plugins win on the same key),
    or None to add nothing. All results are collected. Must not write to the
    database: processing may run again for the same event.
    """


@hookspec
def engage_check_send(message, profile, now):
    """A policy verdict on a message about to be sent.

    Receives the ``Message`` (channel, category, workspace), its ``Profile``
    and the current time. Returns an ``engage.plugins.Decision``
    to skip or defer the send, or None to have no opinion. All results are
    collected: any skip wins over any defer, and a defer waits for the latest
    proposed time. Runs at send time, after engage's own consent, quiet-hours
    and cap checks let the message through, and every skip or deferral is
    written to the decision log with its reason.
    """
