"""factory_boy factories for customers as processing leaves them in the database.

Rows are written directly (profile, identities, attributed events, merges), so
tests of the customer view, privacy and admin do not depend on processing.
"""

import datetime as dt

import factory
from django.utils import timezone

from engage.events.models import Event
from engage.profiles.models import Identity, Profile, ProfileMerge

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Profile

    first_seen_at = T0
    last_seen_at = T0


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    profile = factory.SubFactory(ProfileFactory)
    workspace = factory.SelfAttribute("profile.workspace")
    kind = Identity.USER_ID
    value = factory.Sequence(lambda n: f"user-{n}")


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    profile = factory.SubFactory(ProfileFactory)
    workspace = factory.SelfAttribute("profile.workspace")
    origin_profile_id = factory.SelfAttribute("profile.pk")
    message_id = factory.Sequence(lambda n: f"msg-{n}")
    type = "track"
    name = "Order Completed"
    timestamp = factory.Sequence(lambda n: T0 + dt.timedelta(minutes=n))
    received_at = factory.SelfAttribute("timestamp")
    processed_at = factory.LazyFunction(timezone.now)


class MergeFactory(factory.django.DjangoModelFactory):
    """A merge of ``merged`` into ``survivor``; marks ``merged`` as merged."""

    class Meta:
        model = ProfileMerge
        skip_postgeneration_save = True

    survivor = factory.SubFactory(ProfileFactory)
    merged = factory.SubFactory(
        ProfileFactory, workspace=factory.SelfAttribute("..survivor.workspace")
    )
    workspace = factory.SelfAttribute("survivor.workspace")
    reason = ProfileMerge.IDENTIFY
    detail = "identify linked user_id and anonymous_id"
    message_id = factory.Sequence(lambda n: f"merge-msg-{n}")
    merged_at = T0

    @factory.post_generation
    def mark_merged(obj, create, extracted, **kwargs):
        if create:
            Profile.objects.filter(pk=obj.merged_id).update(merged_into=obj.survivor)
            obj.merged.merged_into = obj.survivor
