import pytest
from rest_framework.test import APIClient

from engage.workspaces.selectors import active_key
from tests.customer_factories import EventFactory, IdentityFactory, MergeFactory, ProfileFactory


@pytest.fixture
def api(workspace) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {workspace.secret_key}")
    return client


@pytest.fixture
def key_prefix(workspace) -> str:
    return active_key(workspace.secret_key).prefix


@pytest.fixture
def customer(workspace):
    """Ada, as processing leaves her: a survivor, a profile merged into it, both
    with events, identities on the survivor and the merge recorded."""
    ada = ProfileFactory(workspace=workspace.workspace, traits={"name": "Ada Lovelace"})
    IdentityFactory(profile=ada, kind="email", value="ada@example.com")
    IdentityFactory(profile=ada, kind="user_id", value="ada-user-1815")
    IdentityFactory(profile=ada, kind="phone", value="+14155552671")
    merge = MergeFactory(survivor=ada, detail="identify tied ada@example.com to anon-ada")
    IdentityFactory(profile=ada, kind="anonymous_id", value="anon-ada")
    EventFactory(
        profile=ada,
        user_id="ada-user-1815",
        type="identify",
        name="",
        traits={"email": "ada@example.com", "name": "Ada Lovelace"},
        context={"traits": {"phone": "+14155552671"}},
    )
    EventFactory(profile=ada, user_id="ada-user-1815", properties={"total": 42})
    EventFactory(profile=merge.merged, anonymous_id="anon-ada", type="page", name="Home")
    return ada, merge


@pytest.fixture
def bystanders(workspace, other_workspace):
    """Grace in the same workspace and another Ada in another workspace."""
    grace = ProfileFactory(workspace=workspace.workspace)
    IdentityFactory(profile=grace, kind="email", value="grace@example.com")
    EventFactory(profile=grace, user_id="grace")
    other_ada = ProfileFactory(workspace=other_workspace.workspace)
    IdentityFactory(profile=other_ada, kind="email", value="ada@example.com")
    EventFactory(profile=other_ada)
    return grace, other_ada
