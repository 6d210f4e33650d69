"""Writing the audit trail: one row per change, in the change's transaction.

Callers pass the object's state before and after as JSON-ready dicts
(``snapshot`` makes one from a model's fields), so an entry shows what
changed, not only that something did.
"""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from .actor import current_actor
from .models import AuditEntry


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict:
    """The instance's field values as JSON (keys as ids, times as ISO text);
    by default every field an operator sets (not the id, workspace or the
    times Django stamps on every save, which would show as a change)."""
    names = fields or [
        f.name
        for f in instance._meta.concrete_fields
        if f.name not in ("id", "workspace")
        and not getattr(f, "auto_now", False)
        and not getattr(f, "auto_now_add", False)
    ]
    values = {}
    for name in names:
        field = instance._meta.get_field(name)
        values[name] = getattr(instance, field.attname)
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def record(
    *,
    workspace_id: int,
    action: str,
    obj: models.Model,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    user, api_key, actor = current_actor()
    return AuditEntry.objects.create(
        workspace_id=workspace_id,
        at=timezone.now(),
        user=user,
        api_key=api_key,
        actor=actor[:200],
        action=action,
        object_type=obj._meta.verbose_name,
        object_id=obj.pk,
        object_repr=str(obj)[:200],
        before=before,
        after=after,
    )
