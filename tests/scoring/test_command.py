"""compute_scores, the weekly task, and the built-in models registered as a plugin."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from engage.plugins.manager import scoring_models
from engage.scoring.models import Score
from engage.scoring.tasks import compute_all_workspaces

from .helpers import customer, did

BUILT_IN = {"ces", "dormancy", "intent", "responsiveness", "rfm"}


def test_built_in_models_come_through_the_plugin_entry_point():
    assert set(scoring_models()) >= BUILT_IN


def test_command_scores_one_workspace_with_progress(workspace, other_workspace):
    buyer = customer(workspace.workspace)
    did(buyer, "Order Completed", 2, revenue=10)
    stranger = customer(other_workspace.workspace)
    did(stranger, "Order Completed", 2, revenue=10)
    out = StringIO()

    call_command("compute_scores", "--workspace", "acme", "--model", "rfm", stdout=out)

    text = out.getvalue()
    assert "[1/1] workspace acme" in text
    assert "rfm: 1 profiles in" in text
    assert "scored 1 workspace(s)" in text
    assert list(Score.objects.values_list("profile_id", "model")) == [(buyer.pk, "rfm")]


def test_command_without_options_scores_every_model_of_every_workspace(workspace, other_workspace):
    did(customer(workspace.workspace), "Order Completed", 2, revenue=10)
    did(customer(other_workspace.workspace), "Page Viewed", 2)
    out = StringIO()

    call_command("compute_scores", stdout=out)

    text = out.getvalue()
    assert "[1/2] workspace acme" in text
    assert "[2/2] workspace globex" in text
    for model in BUILT_IN:
        assert f"  {model}: " in text
    assert set(Score.objects.values_list("model", flat=True)) == {"rfm", "ces", "dormancy"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "churn"], "--model: unknown scoring model 'churn'; installed: ces, "),
        (["--workspace", "nope"], "--workspace: no workspace with id, name or slug 'nope'"),
    ],
)
def test_command_bad_options(workspace, args, message):
    with pytest.raises(CommandError) as caught:
        call_command("compute_scores", *args, stdout=StringIO())
    assert str(caught.value).startswith(message)


def test_command_takes_several_models_after_one_flag(workspace):
    did(customer(workspace.workspace), "Order Completed", 2, revenue=10)
    out = StringIO()

    call_command("compute_scores", "--model", "rfm", "ces", stdout=out)

    assert "rfm: 1 profiles in" in out.getvalue()
    assert "ces: 1 profiles in" in out.getvalue()
    assert set(Score.objects.values_list("model", flat=True)) == {"rfm", "ces"}


def test_weekly_task_scores_every_workspace(workspace, other_workspace):
    did(customer(workspace.workspace), "Page Viewed", 2)
    did(customer(other_workspace.workspace), "Page Viewed", 2)

    assert compute_all_workspaces() == 2  # tasks run inline without a broker

    assert set(
        Score.objects.filter(model="dormancy").values_list("workspace__name", flat=True)
    ) == {
        "acme",
        "globex",
    }
