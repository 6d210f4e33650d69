import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from engage.workspaces.keys import hash_key
from engage.workspaces.models import ApiKey
from engage.workspaces.selectors import active_key
from engage.workspaces.services import revoke_api_key


def test_create_workspace_prints_keys_once_and_stores_only_hashes(db):
    out = StringIO()
    call_command("create_workspace", "acme", stdout=out)
    printed = json.loads(out.getvalue())

    assert printed["workspace"] == "acme"
    assert printed["write_key"].startswith("wk_")
    assert printed["secret_key"].startswith("sk_")
    keys = ApiKey.objects.filter(workspace__name="acme")
    assert {k.kind for k in keys} == {"write", "secret"}
    assert {k.key_hash for k in keys} == {
        hash_key(printed["write_key"]),
        hash_key(printed["secret_key"]),
    }
    # No column of the key table holds the plaintext key.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM workspaces_apikey")
        dump = repr(cursor.fetchall())
    assert printed["write_key"] not in dump
    assert printed["secret_key"] not in dump


def test_create_workspace_refuses_a_duplicate_or_empty_name(db):
    call_command("create_workspace", "acme", stdout=StringIO())
    with pytest.raises(CommandError, match="name: a workspace named 'acme' already exists"):
        call_command("create_workspace", "acme", stdout=StringIO())
    with pytest.raises(CommandError, match="name: must not be empty"):
        call_command("create_workspace", "  ", stdout=StringIO())


def test_revoked_key_no_longer_authenticates(workspace):
    key = active_key(workspace.secret_key)
    assert key is not None and key.workspace == workspace.workspace
    revoke_api_key(key=key)
    assert active_key(workspace.secret_key) is None
    assert active_key("sk_not-a-key") is None
