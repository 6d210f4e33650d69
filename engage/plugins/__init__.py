"""engage's plugin system (pluggy, project name ``engage``).

Plugin authors need only this import::

    from engage.plugins import hookimpl

and the base classes in ``engage.plugins.base``. Every hook is declared and
documented in ``engage.plugins.hookspecs``.
"""

import pluggy

PROJECT_NAME = "engage"
ENTRY_POINT_GROUP = "engage.plugins"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["ENTRY_POINT_GROUP", "PROJECT_NAME", "hookimpl"]
