import pytest

from .helpers import make_customer, make_nps_survey


@pytest.fixture
def customer(workspace):
    return make_customer(workspace.workspace)


@pytest.fixture
def nps_survey(workspace):
    return make_nps_survey(workspace.workspace)


@pytest.fixture
def api(client):
    def call(method, path, key, body=None):
        return getattr(client, method)(
            path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
        )

    return call
