"""Schemathesis against a live server: every operation of ``/api/schema/`` does what it says.

The fuzzer reads the schema the server publishes, generates valid and invalid
requests for every operation (the examples, coverage and fuzzing phases) and
checks each answer against the schema. A failure is a bug in the API or in its
schema, and is fixed there, never suppressed here.

Checks that run, on every operation:

- ``not_a_server_error``: no input gives a 5xx.
- ``status_code_conformance``: every status answered is documented.
- ``content_type_conformance`` and ``response_schema_conformance``: bodies are
  what the schema says, errors included.
- ``negative_data_rejection``: input the schema forbids is refused with a 4xx.
- ``positive_data_acceptance``: input the schema allows is not refused with a
  400; except on the operations in ``POSITIVE_OFF``, whose rules an OpenAPI 3.0
  schema generated from serializers cannot state: "exactly one of these
  parameters or fields", a rule tree whose validity depends on stored state (a
  ``segment`` condition names an existing segment, without a cycle) and on
  relations between its fields (``older_than_days`` below ``within_days``), an
  identifier value that must suit its kind. Those operations are still held to
  every other check, and the API tests cover their refusals one by one.

Strings are generated without NUL: PostgreSQL text cannot hold it, so every
input refuses it with a 400 naming the field (``tests/test_openapi.py`` and the
API tests check that), which a JSON Schema ``string`` cannot express.

The stateful phase is off: the schema declares no links between operations.
The run is deterministic (same cases every time) and bounded by the number of
examples per operation: about a minute and a half on two cores.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from engage.api.pagination import Cursor
from engage.inbox import tokens
from engage.inbox.models import InboxEntry
from engage.messaging.models import Message, MessageTemplate
from engage.segments import services as segment_services
from engage.segments.models import Segment
from engage.workspaces.services import create_workspace
from tests.customer_factories import EventFactory, IdentityFactory, MergeFactory
from tests.journeys.factories import live_journey
from tests.live_processes import gunicorn, process_env

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("transactional_db")]

MAX_EXAMPLES = 40
MAX_SECONDS = 420  # a guard against a hung run, not a speed check

CONFIG = """
[generation]
allow-x00 = false

[checks]
enabled = false
not_a_server_error.enabled = true
status_code_conformance.enabled = true
content_type_conformance.enabled = true
response_schema_conformance.enabled = true
negative_data_rejection.enabled = true
# The defaults, and gunicorn's 414 for a request line longer than it reads: a
# refusal too, documented in the schema.
negative_data_rejection.expected-statuses = [
    "400", "401", "403", "404", "405", "406", "409", "414", "415", "422", "428", "429", "5xx"
]
positive_data_acceptance.enabled = true

[auth.openapi.secretKey]
bearer = "${ENGAGE_FUZZ_SECRET_KEY}"

[auth.openapi.inboxToken]
bearer = "${ENGAGE_FUZZ_INBOX_TOKEN}"

# Half the ids tried are ones that exist, so operations get past their 404.
[dictionaries.profiles]
values = [%(profiles)s]
[dictionaries.segments]
values = [%(segments)s]
[dictionaries.merges]
values = [%(merge)s]
[dictionaries.messages]
values = [%(message)s]
[dictionaries.entries]
values = [%(entry)s]
[dictionaries.templates]
values = [%(template)s]
[dictionaries.journeys]
values = [%(journey)s]
[dictionaries.time_cursors]
values = ["%(time_cursor)s"]
[dictionaries.segment_cursors]
values = ["%(segment_cursor)s"]
[dictionaries.member_cursors]
values = ["%(member_cursor)s"]

[parameters]
"path.profile_id" = { dictionary = "profiles", probability = 0.5 }
"path.segment_id" = { dictionary = "segments", probability = 0.5 }
"path.merge_id" = { dictionary = "merges", probability = 0.5 }
"path.message_id" = { dictionary = "messages", probability = 0.5 }
"path.entry_id" = { dictionary = "entries", probability = 0.5 }
"path.template_id" = { dictionary = "templates", probability = 0.5 }
"path.journey_id" = { dictionary = "journeys", probability = 0.5 }

# A cursor is opaque: only one holding the list's own sort key is valid, so
# each list is given one of its shape (time and id, a name, a profile id).
[[operations]]
include-operation-id-regex = "^profiles_(events|decisions_list|consents_list|journeys_list)$"
parameters = { "query.cursor" = { dictionary = "time_cursors", probability = 1.0 } }

[[operations]]
include-operation-id = "journeys_enrollments_list"
parameters = { "query.cursor" = { dictionary = "time_cursors", probability = 1.0 } }

[[operations]]
include-operation-id = "inbox_messages_list"
parameters = { "query.cursor" = { dictionary = "time_cursors", probability = 1.0 } }

[[operations]]
include-operation-id-regex = "^(segments_list|templates_list|journeys_list|catalog_products_list)$"
parameters = { "query.cursor" = { dictionary = "segment_cursors", probability = 1.0 } }

[[operations]]
include-operation-id-regex = "^(segments_members_list|journeys_versions_list|broadcasts_list)$"
parameters = { "query.cursor" = { dictionary = "member_cursors", probability = 1.0 } }

[[operations]]
include-operation-id = "profiles_loyalty"
parameters = { "query.cursor" = { dictionary = "member_cursors", probability = 1.0 } }

[[operations]]
include-operation-id-regex = "%(positive_off)s"
checks.positive_data_acceptance.enabled = false
"""
# Where a request the schema allows may still be refused with a 400 (see above), and why.
POSITIVE_OFF = [
    # exactly one identifier parameter
    "profiles_lookup",
    # exactly one of profile_id and identifier, of template and content; a known template
    "api_messages_send_create",
    # a rule tree
    "segments_create",
    "segments_partial_update",
    "segments_preview",
    # an identifier's value must suit its kind (an email, a phone number)
    "segments_members_upload",
    # Liquid that parses, a known channel, a name not taken; a channel the workspace enabled
    "templates_create",
    "templates_partial_update",
    "templates_test_send",
    # a journey definition that validates whole (known node types, templates, segments);
    # a journey name not taken
    "journeys_create",
    "journeys_partial_update",
    "journeys_versions_create",
    "journeys_versions_update",
    # a known segment, journey (live) and template; a one-off time ahead, HH:MM a clock time
    "broadcasts_create",
    "broadcasts_partial_update",
    # exactly one of profile_id and identifier; a score on its kind's scale; a known survey
    "api_feedback_create",
    # since before until, at most three years apart
    "feedback_report",
    # a redemption takes 1 point or more, an adjustment any number but 0
    "loyalty_movements_create",
    # exactly one of external_id and identifier, naming a customer that exists
    "loyalty_accounts_import",
    # http(s) URLs, a three-letter currency, a price of at most three decimals
    "catalog_products_upsert",
]


def seed_workspace() -> tuple[dict[str, str], dict[str, str]]:
    """A workspace with customers, a merge, segments and an in-app message: (its keys,
    the ids for the config)."""
    new = create_workspace(name="fuzz")
    workspace = new.workspace
    ada = IdentityFactory(profile__workspace=workspace, value="ada").profile
    IdentityFactory(profile=ada, kind="email", value="ada@example.com")
    event = EventFactory(profile=ada)
    merge = MergeFactory(survivor=ada)
    static = segment_services.save_segment(
        workspace=workspace, name="Imported", kind=Segment.STATIC, rules=None
    )
    segment_services.upload_members(
        segment=static, identifiers=[{"kind": "user_id", "value": "ada"}]
    )
    dynamic = segment_services.save_segment(
        workspace=workspace, name="Buyers", rules={"event": {"name": "Order Completed"}}
    )
    message = Message.objects.create(
        workspace=workspace,
        profile=ada,
        channel="inapp",
        category=Message.TRANSACTIONAL,
        body="Your order shipped",
        status=Message.SENT,
    )
    entry = InboxEntry.objects.create(workspace=workspace, profile=ada, message=message)
    template = MessageTemplate.objects.create(
        workspace=workspace, name="welcome", channel="email", body="Hi {{ traits.first_name }}"
    )
    journey = live_journey(
        workspace,
        {
            "trigger": {"manual": True},
            "start": "done",
            "nodes": {"done": {"type": "exit"}},
        },
    )
    keys = {
        "ENGAGE_FUZZ_SECRET_KEY": new.secret_key,
        "ENGAGE_FUZZ_INBOX_TOKEN": tokens.issue(workspace_id=workspace.pk, profile_id=ada.pk),
    }
    ids = {
        "profiles": f"{ada.pk}, {merge.merged_id}",
        "segments": f"{static.pk}, {dynamic.pk}",
        "merge": str(merge.pk),
        "message": str(message.pk),
        "entry": str(entry.pk),
        "template": str(template.pk),
        "journey": str(journey.pk),
        "time_cursor": Cursor((event.timestamp, event.pk)).encode(),
        "segment_cursor": Cursor((static.name,)).encode(),
        "member_cursor": Cursor((ada.pk,)).encode(),
        "positive_off": "^(" + "|".join(POSITIVE_OFF) + ")$",
    }
    return keys, ids


def test_every_operation_keeps_to_the_schema(tmp_path):
    keys, ids = seed_workspace()
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG % ids)
    with gunicorn(process_env(), tmp_path) as url:
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file",
                str(config),
                "--no-color",
                "run",
                f"{url}/api/schema/?format=json",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--generation-deterministic",
                "--workers",
                "1",
                "--request-timeout",
                "10",
            ],
            env=process_env(**keys),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=MAX_SECONDS,
        )
    print(result.stdout[-20000:])
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-3000:]
