"""What commands accept for --workspace: what the docs and the admin show."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from engage.workspaces.selectors import WorkspaceNotFound, workspace_named
from engage.workspaces.services import create_workspace


@pytest.fixture
def acme_corp(db):
    return create_workspace(name="Acme Corp").workspace


@pytest.mark.parametrize(
    "typed", ["Acme Corp", "acme corp", "ACME CORP", "acme-corp", " Acme Corp "]
)
def test_a_workspace_is_found_by_name_in_any_case_or_by_slug(acme_corp, typed):
    assert workspace_named(typed) == acme_corp


def test_a_workspace_is_found_by_id(acme_corp):
    assert workspace_named(str(acme_corp.pk)) == acme_corp


def test_an_exact_name_wins_over_one_that_differs_only_in_case(db):
    create_workspace(name="acme")
    upper = create_workspace(name="ACME").workspace

    assert workspace_named("ACME") == upper
    with pytest.raises(WorkspaceNotFound, match="'Acme' could be any of 'acme' \\(id"):
        workspace_named("Acme")


def test_the_commands_name_what_they_could_not_find(acme_corp):
    with pytest.raises(
        CommandError, match="--workspace: no workspace with id, name or slug 'nope'"
    ):
        call_command("compute_scores", "--workspace", "nope", stdout=StringIO())
    with pytest.raises(
        CommandError, match="--workspace: no workspace with id, name or slug 'nope'"
    ):
        call_command("import_source", "csv_customers", "--workspace", "nope", stdout=StringIO())


def test_the_docs_spelling_of_a_workspace_reaches_the_importer(acme_corp):
    # docs/plugins.md creates "Acme" and imports with --workspace acme: the
    # workspace is found, and the command goes on to say what is missing.
    with pytest.raises(
        CommandError, match="'csv_customers' is not enabled for workspace 'Acme Corp'"
    ):
        call_command(
            "import_source", "csv_customers", "--workspace", "acme-corp", stdout=StringIO()
        )
