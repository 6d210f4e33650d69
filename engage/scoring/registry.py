"""The scoring models installed, from the ``engage_scoring_models`` plugin hook.

Only set-based models (``SetScoringModel``) are computed: a model that can
only score one profile at a time is listed by ``manage.py engage_plugins``
but skipped here, with a warning, rather than run a million times.
"""

import logging

from engage.plugins.manager import get_plugin_manager

from .base import SetScoringModel

log = logging.getLogger(__name__)


class UnknownModel(LookupError):
    pass


def scoring_models() -> dict[str, type[SetScoringModel]]:
    found: dict[str, type[SetScoringModel]] = {}
    for result in get_plugin_manager().hook.engage_scoring_models():
        for cls in result or ():
            if isinstance(cls, type) and issubclass(cls, SetScoringModel):
                found.setdefault(cls.id, cls)
            else:
                log.warning("scoring model %r is not set-based; skipped", cls)
    return dict(sorted(found.items()))


def selected_models(model_ids: list[str] | None = None) -> list[type[SetScoringModel]]:
    installed = scoring_models()
    if not model_ids:
        return list(installed.values())
    unknown = [m for m in model_ids if m not in installed]
    if unknown:
        known = ", ".join(installed) or "none"
        raise UnknownModel(f"unknown scoring model {', '.join(unknown)}; installed: {known}")
    return [installed[m] for m in model_ids]
