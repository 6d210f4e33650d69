"""One URL, methods of two apps: each method is answered by the app that owns it."""

import pytest
from rest_framework.views import APIView

from engage.api.routing import methods_of


class Reads(APIView):
    def get(self, request): ...


class AlsoReads(APIView):
    def get(self, request): ...


def test_two_apps_answering_one_method_at_one_url_is_refused_at_start_up():
    with pytest.raises(ValueError, match="get is answered by"):
        methods_of(Reads, AlsoReads)


def test_the_profile_url_reads_and_erases_and_refuses_other_methods(client, workspace):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {workspace.secret_key}"}
    response = client.put("/api/profiles/1", **headers)
    assert response.status_code == 405
    assert set(response["Allow"].replace(" ", "").split(",")) == {
        "GET",
        "HEAD",
        "DELETE",
        "OPTIONS",
    }
