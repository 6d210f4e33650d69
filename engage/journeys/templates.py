"""The message templates journeys send, so a template a running journey needs is not deleted.

A journey names its templates in its definition (JSON, by name), not by a
foreign key, so the database cannot protect them; messaging asks before
deleting one (``template_in_use``) and the journeys' receiver answers with
``in_use_by``.
"""

from django.db.models import Exists, F, OuterRef, Q

from engage.messaging.models import MessageTemplate

from .models import Enrollment, Journey, JourneyVersion

MAX_NAMED = 5


def templates_used(definition: dict) -> set[str]:
    """The template names a definition's nodes send: a send node's
    ``template``, each ladder rung's (a push rung may name one per channel)."""
    names = set()
    for node in definition.get("nodes", {}).values():
        named = [node.get("template")]
        for rung in node.get("rungs") or ():
            template = rung.get("template")
            named.extend(template.values() if isinstance(template, dict) else [template])
        names.update(name for name in named if isinstance(name, str))
    return names


def running_versions(workspace_id: int):
    """The published versions that may still send: the live version of a live
    or paused journey, and any version customers are still walking."""
    walked = Enrollment.objects.filter(version=OuterRef("pk"), ended_at__isnull=True)
    return (
        JourneyVersion.objects.filter(journey__workspace_id=workspace_id)
        .filter(
            Q(journey__status__in=(Journey.LIVE, Journey.PAUSED), journey__live_version=F("pk"))
            | Exists(walked)
        )
        .select_related("journey")
    )


def in_use_by(template: MessageTemplate) -> str | None:
    """What running journeys need ``template``, as a sentence for the 409, or None."""
    using = sorted(
        (version.journey.name, version.number)
        for version in running_versions(template.workspace_id)
        if template.name in templates_used(version.definition)
    )
    if not using:
        return None
    named = ", ".join(f"{name!r} (version {number})" for name, number in using[:MAX_NAMED])
    more = " and more" if len(using) > MAX_NAMED else ""
    return f"used by running journeys {named}{more}"
