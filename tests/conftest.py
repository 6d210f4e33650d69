import os

import pytest
from hypothesis import settings

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
