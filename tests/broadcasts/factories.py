"""An audience, a template and an in-app channel for broadcast tests: the
in-app channel needs no outside service, so sends really go out."""

from engage.messaging.services import save_template
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity, Profile
from engage.segments import membership
from engage.segments.models import Segment


def audience(workspace, count: int, *, name: str = "vips", zones=()) -> tuple[Segment, list]:
    """A static segment of ``count`` signed-in customers (``zones``: their
    ``timezone`` traits, in order)."""
    zones = list(zones)
    people = []
    for n in range(count):
        traits = {"first_name": f"c{n}"}
        if n < len(zones):
            traits["timezone"] = zones[n]
        profile = Profile.objects.create(workspace=workspace, traits=traits)
        Identity.objects.create(
            workspace=workspace, profile=profile, kind="user_id", value=f"user-{n}"
        )
        people.append(profile)
    segment = Segment.objects.create(workspace=workspace, name=name, kind=Segment.STATIC)
    membership.add_members(segment, [p.pk for p in people])
    return segment, people


def inapp_template(workspace, name: str = "sale"):
    configure_plugin(workspace=workspace, plugin_id="inapp", settings={})
    return save_template(
        workspace=workspace,
        name=name,
        channel="inapp",
        subject="Sale",
        body="Hi {{ traits.first_name }}",
    )
