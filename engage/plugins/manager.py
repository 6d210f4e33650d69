"""The one plugin manager, and the registries built from it.

Plugins come only from the ``engage.plugins`` entry-point group; engage's own
built-in plugins (``plugins/`` in the repository) are registered there too, so
there is a single way in. The plugins app builds the manager and every
registry at start-up (``build_registries``), so a plugin that cannot load
stops the server, a worker or a command at once, naming the plugin; they are
kept for the life of the process: installing a plugin means restarting.
"""

import pkgutil
import re
from functools import cache
from importlib.metadata import entry_points
from importlib.util import find_spec

import pluggy
from django.core.exceptions import ImproperlyConfigured

from . import ENTRY_POINT_GROUP, PROJECT_NAME, hookspecs
from .base import Channel, Importer, Plugin, Recommender, ScoringModel

BUILT_IN_PACKAGE = "plugins"  # engage's own plugins, in the repository's plugins/

# hook name → the base class its results must derive from
REGISTRY_HOOKS: dict[str, type[Plugin]] = {
    "engage_channels": Channel,
    "engage_scoring_models": ScoringModel,
    "engage_importers": Importer,
    "engage_recommenders": Recommender,
}


class UnknownPlugin(LookupError):
    def __init__(self, kind: str, plugin_id: str, known: list[str]):
        self.plugin_id = plugin_id
        super().__init__(
            f"unknown {kind} {plugin_id!r}; installed: {', '.join(sorted(known)) or 'none'}"
        )


@cache
def get_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    try:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        pm.check_pending()
    except Exception as exc:
        raise ImproperlyConfigured(f"{_failing_entry_point()}: {exc}") from exc
    registered = {getattr(plugin, "__name__", None) for plugin in pm.get_plugins()}
    missing = [name for name in _built_in_modules() if name not in registered]
    if missing:
        raise ImproperlyConfigured(
            f"built-in plugin {', '.join(missing)} not registered under the "
            f"{ENTRY_POINT_GROUP!r} entry points: reinstall engage (pip install -e .) "
            "so its installed entry points match pyproject.toml"
        )
    return pm


def _built_in_modules() -> list[str]:
    """The modules of engage's ``plugins`` package, found on disk.

    Not imported: the built-ins import the plugin base classes, and come in
    through their entry points like any third party's.
    """
    spec = find_spec(BUILT_IN_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return []
    return [
        f"{BUILT_IN_PACKAGE}.{module.name}"
        for module in pkgutil.iter_modules(spec.submodule_search_locations)
    ]


def _failing_entry_point() -> str:
    """Which plugin of the entry-point group cannot be loaded (pluggy's error
    names only the module or the hook)."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception:  # any error is the plugin's to fix
            return f"plugin {ep.name!r} ({ep.value}) cannot be loaded"
    return "a plugin cannot be registered"


def _kind(base: type[Plugin]) -> str:
    """``ScoringModel`` → "scoring model", for messages."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", base.__name__).lower()


def _plugin_name(pm: pluggy.PluginManager, impl) -> str:
    return pm.get_name(impl.plugin) or repr(impl.plugin)


@cache
def _registry(hook_name: str) -> dict[str, type[Plugin]]:
    """{id: class} of everything the plugins return from ``hook_name``.

    Checked once: a result of the wrong type, or two plugins claiming one id,
    stops the server with a message naming the plugins involved.
    """
    pm = get_plugin_manager()
    base = REGISTRY_HOOKS[hook_name]
    found: dict[str, type[Plugin]] = {}
    owners: dict[str, str] = {}
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        owner = _plugin_name(pm, impl)
        for cls in impl.function() or ():
            if not (isinstance(cls, type) and issubclass(cls, base)):
                raise ImproperlyConfigured(
                    f"plugin {owner!r}: {hook_name} returned {cls!r}, not a {base.__name__} class"
                )
            if cls.id in found:
                raise ImproperlyConfigured(
                    f"{_kind(base)} id {cls.id!r} is provided by both "
                    f"{owners[cls.id]!r} and {owner!r}"
                )
            found[cls.id] = cls
            owners[cls.id] = owner
    return found


def build_registries() -> None:
    """Load every plugin and build every registry now, raising
    ImproperlyConfigured with the first problem (the plugins app's ready())."""
    configurable_plugins()
    for registry in _app_registries:
        registry.build()


def reset_registries() -> None:
    """Forget the registries, so the next look-up rebuilds them from the
    plugins registered now (a test registering a plugin of its own)."""
    _registry.cache_clear()
    for registry in _app_registries:
        registry.reset()


# Registries an app builds from the plugins' hooks together with its own
# built-ins (the journeys' node types), each with ``build()`` and ``reset()``.
# The app adds its registry as it loads, so this module needs no import of it.
_app_registries: list = []


def add_registry(registry) -> None:
    """Build ``registry`` now, so a plugin it refuses stops the start naming
    the plugin, and again with every ``build_registries`` (``manage.py check``)."""
    _app_registries.append(registry)
    registry.build()


def channels() -> dict[str, type[Channel]]:
    return _registry("engage_channels")  # type: ignore[return-value]


def get_channel_class(channel_id: str) -> type[Channel]:
    registry = channels()
    try:
        return registry[channel_id]
    except KeyError:
        raise UnknownPlugin("channel", channel_id, list(registry)) from None


def scoring_models() -> dict[str, type[ScoringModel]]:
    return dict(sorted(_registry("engage_scoring_models").items()))  # type: ignore[arg-type]


def get_scoring_model_class(model_id: str) -> type[ScoringModel]:
    registry = scoring_models()
    try:
        return registry[model_id]
    except KeyError:
        raise UnknownPlugin("scoring model", model_id, list(registry)) from None


def recommenders() -> dict[str, type[Recommender]]:
    return dict(sorted(_registry("engage_recommenders").items()))  # type: ignore[arg-type]


def configurable_plugins() -> dict[str, type[Plugin]]:
    """Every plugin with a settings schema an operator can configure, by id."""
    merged: dict[str, type[Plugin]] = {}
    for hook_name in REGISTRY_HOOKS:
        merged.update(_registry(hook_name))
    return merged


def get_plugin_class(plugin_id: str) -> type[Plugin]:
    registry = configurable_plugins()
    try:
        return registry[plugin_id]
    except KeyError:
        raise UnknownPlugin("plugin", plugin_id, list(registry)) from None


def installed_plugins() -> list[dict]:
    """Each installed plugin: name, distribution, hooks implemented and what it
    provides per registry hook. For ``manage.py engage_plugins``."""
    pm = get_plugin_manager()
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    rows = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        callers = pm.get_hookcallers(plugin) or []
        provides = {}
        for caller in callers:
            if caller.name not in REGISTRY_HOOKS:
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin:
                    provides[caller.name] = sorted(cls.id for cls in impl.function() or ())
        hooks = sorted(caller.name for caller in callers)
        rows.append(
            {
                "name": name,
                "distribution": f"{dist.project_name} {dist.version}" if dist else "",
                "hooks": hooks,
                "provides": provides,
            }
        )
    return rows
