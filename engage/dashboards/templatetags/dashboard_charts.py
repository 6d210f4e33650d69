"""Charts other admin pages show: ``{% load dashboard_charts %}`` then
``{% segment_size_chart original %}``, ``{% journey_funnel_chart original %}``
or ``{% profile_activity_chart original %}`` in their change form."""

from datetime import timedelta

from django import template
from django.utils import timezone

from engage.metrics.window import Window

from .. import charts

register = template.Library()
SEGMENT_REFRESHES = 90
PROFILE_WEEKS = 12


@register.inclusion_tag("dashboards/section.html")
def segment_size_chart(segment) -> dict:
    return {"chart": charts.segment_size(segment, refreshes=SEGMENT_REFRESHES)}


@register.inclusion_tag("dashboards/section.html")
def journey_funnel_chart(journey) -> dict:
    return {"chart": charts.journey_nodes(journey)}


@register.inclusion_tag("dashboards/section.html")
def profile_activity_chart(profile) -> dict:
    today = timezone.now().date()
    monday = today - timedelta(days=today.weekday())
    window = Window(monday - timedelta(weeks=PROFILE_WEEKS - 1), today)
    return {"chart": charts.profile_activity(profile, window)}
