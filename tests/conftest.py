import os

import pytest
from hypothesis import settings

from engage.plugins import manager
from engage.workspaces.services import NewWorkspace, create_workspace

# CI replays the same examples on every run, so that a submission lands or not
# on its own merits; runs elsewhere explore new examples each time and keep
# what they found in .hypothesis/ to replay it.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def make_workspace(db):
    """Create a workspace with fresh keys: ``make_workspace("acme")``."""

    def make(name: str = "acme") -> NewWorkspace:
        return create_workspace(name=name)

    return make


@pytest.fixture
def workspace(make_workspace) -> NewWorkspace:
    return make_workspace("acme")


@pytest.fixture
def other_workspace(make_workspace) -> NewWorkspace:
    return make_workspace("globex")


@pytest.fixture
def register_plugin():
    """Register a plugin for one test: ``register_plugin(plugin, "test-geo")``.

    ``plugin`` is a module or an object with ``@hookimpl`` functions. The
    registries built from the hooks are rebuilt with it, and again without it
    once the test is over, so no other test sees it.
    """
    pm = manager.get_plugin_manager()
    names = []

    def register(plugin, name: str):
        pm.register(plugin, name=name)
        names.append(name)
        manager.reset_registries()
        return plugin

    yield register
    for name in names:
        pm.unregister(name=name)
    manager.reset_registries()
