"""engage's plugin system (pluggy, project name ``engage``).

The public plugin API is this package::

    from engage.plugins import hookimpl, Channel, ScoringModel, Decision

with the rest of the base classes in ``engage.plugins.base``. Every hook is
declared and documented in ``engage.plugins.hookspecs``.
"""

import pluggy

from .base import (
    Capabilities,
    Channel,
    Decision,
    Importer,
    ImportProblem,
    Recommender,
    Run,
    ScoringModel,
    SendResult,
    SettingField,
    WebhookSignal,
)

PROJECT_NAME = "engage"
ENTRY_POINT_GROUP = "engage.plugins"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = [
    "ENTRY_POINT_GROUP",
    "PROJECT_NAME",
    "Capabilities",
    "Channel",
    "Decision",
    "ImportProblem",
    "Importer",
    "Recommender",
    "Run",
    "ScoringModel",
    "SendResult",
    "SettingField",
    "WebhookSignal",
    "hookimpl",
]
