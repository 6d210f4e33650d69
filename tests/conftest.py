import pytest

from engage.workspaces.services import NewWorkspace, create_workspace


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
