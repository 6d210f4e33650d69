"""The preference centre: where a customer chooses the topics and channels
marketing may reach them on, through a signed link.

The link names the customer, not a message, so the same link works from an
email (``{{ preferences_url }}`` in every template), an SMS or an in-app
message. It is signed with the server's SECRET_KEY under a salt of its own
(a click or unsubscribe token cannot open it) and expires after
``LINK_DAYS``. Choices are consent history like any other (source
``preference_center``): a row is written only for a choice that changed,
so the history reads as what the customer did.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from engage.plugins.manager import UnknownPlugin, get_channel_class
from engage.plugins.models import PluginConfig
from engage.profiles.models import Profile
from engage.profiles.selectors import canonical_profile

from . import consent
from .models import Consent
from .policy import workspace_policy
from .rendering import PREVIEW_URL
from .tracking import InvalidToken

SALT = "engage.messaging.preferences"
LINK_DAYS = 90
SOURCE = "preference_center"


class ExpiredToken(InvalidToken):
    pass


class InvalidChoice(ValueError):
    """A submitted field that is not one of the page's choices; names it."""


@dataclass(frozen=True)
class Choice:
    topic: str
    channel: str
    # What marketing of the topic on the channel gets: its own consent and,
    # for a topic other than "marketing", the channel's "marketing" consent.
    chosen: bool
    # Its own consent only, and the customer's last change of it, if any.
    own: bool
    status: str | None

    @property
    def field(self) -> str:
        return f"{self.topic}:{self.channel}"


def preferences_url(profile: Profile) -> str:
    return link_for(profile.pk, profile.workspace_id)


def link_for(profile_id: int, workspace_id: int) -> str:
    """``preferences_url`` from the ids alone: a send has them without
    reading the customer's row."""
    token = signing.dumps({"p": profile_id, "w": workspace_id}, salt=SALT, compress=True)
    return settings.ENGAGE_PUBLIC_URL.rstrip("/") + reverse("messaging:preferences", args=[token])


def links_to_centre(text: str) -> bool:
    """Whether ``text`` already has a preference centre link (any token)."""
    prefix = reverse("messaging:preferences", args=["-"]).removesuffix("-/")
    return settings.ENGAGE_PUBLIC_URL.rstrip("/") + prefix in text


def template_urls(profiles: list[Profile], *, template=None, preview=False) -> dict[int, str]:
    """``preferences_url`` for every template context: signing only, no
    query. A staff preview gets a placeholder: the real link would let
    whoever previews change the customer's consent."""
    if preview:
        return dict.fromkeys((profile.pk for profile in profiles), PREVIEW_URL + "preferences")
    return {profile.pk: preferences_url(profile) for profile in profiles}


def customer_for(token: str) -> Profile:
    """The customer a link was made for (where a merge has put them since).

    ``ExpiredToken`` past ``LINK_DAYS``; ``InvalidToken`` when tampered with
    or when the customer no longer exists."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=timedelta(days=LINK_DAYS))
    except signing.SignatureExpired:
        raise ExpiredToken("this link has expired") from None
    except signing.BadSignature:
        raise InvalidToken("invalid or tampered link") from None
    profile = Profile.objects.filter(pk=payload["p"], workspace_id=payload["w"]).first()
    profile = profile and canonical_profile(workspace=profile.workspace, profile_id=profile.pk)
    if profile is None:
        raise InvalidToken("this customer is no longer known")
    return profile


def channels_of(workspace_id: int) -> list[str]:
    """The workspace's enabled channels, in name order."""
    ids = PluginConfig.objects.filter(workspace_id=workspace_id, enabled=True).values_list(
        "plugin_id", flat=True
    )
    found = []
    for plugin_id in sorted(ids):
        try:
            get_channel_class(plugin_id)
        except UnknownPlugin:
            continue
        found.append(plugin_id)
    return found


def choices(profile: Profile) -> list[Choice]:
    """Every topic on every channel the page offers, with what the customer chose.

    Topics are ``marketing``, the workspace's ``preference_topics`` and any
    topic the customer has consent history for; a channel that needs an
    opt-in is unchosen until the customer opts in. As in the send-time
    policy, ``marketing`` covers every topic: off on a channel, every topic
    is off there."""
    history = consent.histories([profile.pk]).get(profile.pk, [])
    configured = workspace_policy(profile.workspace_id).preference_topics
    offered = [Consent.MARKETING]
    if isinstance(configured, list):
        offered += [topic for topic in configured if isinstance(topic, str) and topic]
    topics = list(dict.fromkeys([*offered, *(topic for _, topic, _ in reversed(history))]))
    found = []
    for channel in channels_of(profile.workspace_id):
        needs_opt_in = get_channel_class(channel).capabilities.needs_opt_in
        latest = consent.latest(history, channel=channel, topics=topics)
        own = {
            topic: latest.get(topic) == Consent.OPTED_IN
            or (latest.get(topic) is None and not needs_opt_in)
            for topic in topics
        }
        for topic in topics:
            chosen = own[topic] and own[Consent.MARKETING]
            found.append(Choice(topic, channel, chosen, own[topic], latest.get(topic)))
    return sorted(found, key=lambda c: (topics.index(c.topic), c.channel))


def save(profile: Profile, chosen_fields: list[str]) -> int:
    """Write the customer's new choices; returns how many changed.

    ``chosen_fields`` are the fields ("topic:channel") left ticked; every
    other choice on the page is unticked. A topic's own choice on a channel
    is left as it was while ``marketing`` is off there: nothing reaches the
    customer there either way. A field the page did not offer raises
    ``InvalidChoice`` before anything is written."""
    offered = {choice.field: choice for choice in choices(profile)}
    for field in chosen_fields:
        if field not in offered:
            raise InvalidChoice(f"{field}: not a choice on this page")
    ticked = set(chosen_fields)
    now = timezone.now()
    rows = [
        Consent(
            workspace_id=profile.workspace_id,
            profile=profile,
            origin_profile_id=profile.pk,
            channel=choice.channel,
            topic=choice.topic,
            status=Consent.OPTED_IN if field in ticked else Consent.OPTED_OUT,
            source=SOURCE,
            created_at=now,
        )
        for field, choice in offered.items()
        if (field in ticked) != choice.own
        and f"{Consent.MARKETING}:{choice.channel}" in ticked | {field}
    ]
    Consent.objects.bulk_create(rows)
    return len(rows)
