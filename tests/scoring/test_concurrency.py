"""Two scoring runs for one workspace at once (the weekly task and a manual
compute_scores) take turns instead of failing on each other's rows."""

import threading

import pytest
from django.db import connection

from engage.scoring.models import Score
from engage.scoring.services import compute_workspace
from engage.workspaces.services import create_workspace

from .helpers import AS_OF, customer, did


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_of_one_workspace_both_succeed():
    ws = create_workspace(name="busy").workspace
    buyers = [customer(ws) for _ in range(30)]
    for n, buyer in enumerate(buyers):
        did(buyer, "Order Completed", n + 1, revenue=n)
    start = threading.Barrier(2)
    errors = []

    def run():
        try:
            start.wait(timeout=10)
            compute_workspace(ws, model_ids=["rfm", "dormancy"], as_of=AS_OF)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert Score.objects.filter(workspace=ws, model="rfm").count() == 30
    assert Score.objects.filter(workspace=ws, model="dormancy").count() == 30
