import pytest

from tests.metrics.dataset import Shop


@pytest.fixture
def shop(workspace, other_workspace) -> Shop:
    return Shop(workspace.workspace, other_workspace.workspace)
