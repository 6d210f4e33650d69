from engage.profiles.models import Profile
from engage.workspaces.models import Workspace

from .models import Consent, Message, MessageDecision

MAX_MERGE_HOPS = 32


def current_profile(profile: Profile) -> Profile:
    """The profile a merged profile now lives in (itself when not merged)."""
    for _ in range(MAX_MERGE_HOPS):
        if profile.merged_into_id is None:
            return profile
        profile = profile.merged_into
    return profile


def opted_out_of_marketing(*, profile: Profile, channel: str) -> bool:
    """True when the latest marketing consent change for this channel (or for
    all channels) is an opt-out."""
    latest = (
        Consent.objects.filter(profile=profile, topic=Consent.MARKETING, channel__in=(channel, ""))
        .order_by("-created_at", "-id")
        .values_list("status", flat=True)
        .first()
    )
    return latest == Consent.OPTED_OUT


def get_message(*, workspace: Workspace, message_id: int) -> Message | None:
    return Message.objects.filter(workspace=workspace, pk=message_id).first()


def decisions_for_profile(*, workspace: Workspace, profile_id: int):
    """The decision log of one customer, newest first: why they did not get a message."""
    return MessageDecision.objects.filter(workspace=workspace, profile_id=profile_id)
