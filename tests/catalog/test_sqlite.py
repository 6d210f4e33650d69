"""The catalog on the embedded SQLite default, in a subprocess with its own
file: the co-purchase count, each built-in recommender and the upsert must
give the answers worked out by hand in ``dataset``, as on PostgreSQL."""

import json

from tests.live_processes import run_embedded

from . import dataset

SCRIPT = """
import json
import django
django.setup()
from django.core.management import call_command
# Only the tables the catalog reads: every app's migrations would cost seconds.
for app in ("catalog", "events", "plugins"):
    call_command("migrate", app, verbosity=0)
from engage.catalog.copurchase import compute_copurchases
from engage.catalog.recommending import enabled_recommenders, recommend
from engage.catalog.services import upsert_products
from engage.workspaces.services import create_workspace
from tests.catalog import dataset

ws = create_workspace(name="acme").workspace
people = dataset.build(ws)
pairs = compute_copurchases(ws)
found = {}
for recommender_id, recommender in enabled_recommenders(ws).items():
    answer = recommend(ws, list(people.values()), recommender)
    found[recommender_id] = {
        name: [item["id"] for item in answer.get(p.pk, [])] for name, p in people.items()
    }
again = upsert_products(workspace=ws, products=[{"product_id": "A", "in_stock": False},
                                                {"product_id": "Z", "title": "New"}])
print(json.dumps({"pairs": pairs, "found": found,
                  "upserted": [again.created, again.updated]}))
"""


def test_the_catalog_runs_on_sqlite(tmp_path):
    result = run_embedded(["-c", SCRIPT], tmp_path / "engage.sqlite3")
    assert result.returncode == 0, result.stderr

    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["pairs"] == 8
    assert out["upserted"] == [1, 1]
    for recommender_id, expected in dataset.EXPECTED.items():
        got = out["found"][recommender_id]
        assert got == {name: expected.get(name, []) for name in got}, recommender_id
