"""The catalog follows catalog events; it holds no customer rows, so merges
and splits need nothing here (recommendations read the customers' events,
which follow them)."""

from django.dispatch import receiver

from engage.events.signals import events_recorded

from .services import apply_catalog_events


@receiver(events_recorded, dispatch_uid="catalog-events")
def on_events_recorded(sender, *, events, **kwargs):
    apply_catalog_events(events)
