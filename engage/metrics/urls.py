"""API routes, mounted under /api/: one per metric, ``/api/metrics/<name>``."""

from django.urls import path

from . import (
    attribution,
    channels,
    crosschannel,
    journeys,
    periods,
    purchases,
    retention,
    service,
    value,
)
from .api.views import Option, metric_view

EVENT = Option(
    "event",
    "text",
    "The purchase (conversion) event's name; the workspace's RFM setting by default.",
)
REVENUE = Option(
    "revenue_property",
    "text",
    "The purchase event's numeric revenue property; the workspace's RFM setting by default.",
)
GRAIN = Option(
    "grain", "choice", "Cohort and period length.", default=periods.MONTH, choices=periods.GRAINS
)
MAX_DAYS = 365

METRICS = [
    (
        "value",
        value.value,
        [
            EVENT,
            REVENUE,
            Option(
                "lifetime_months",
                "integer",
                "Expected customer lifetime in months, for the predicted LTV.",
                default=value.DEFAULT_LIFETIME_MONTHS,
                low=1,
                high=1200,
            ),
        ],
        "Revenue per customer, historical and predicted LTV by cohort, source and first channel",
        value,
    ),
    (
        "retention",
        retention.retention,
        [
            GRAIN,
            Option(
                "basis",
                "choice",
                "What puts a customer in a cohort: first activity or first purchase.",
                default=retention.FIRST_SEEN,
                choices=retention.BASES,
            ),
            Option(
                "activity",
                "choice",
                "What counts as retained in a period: any activity or a purchase.",
                default=retention.ANY,
                choices=retention.ACTIVITIES,
            ),
            EVENT,
        ],
        "Cohort retention table",
        retention,
    ),
    ("dormant", retention.dormant, [GRAIN], "Dormant share at the end of each period", retention),
    (
        "purchases",
        purchases.purchases,
        [EVENT],
        "Repeat purchase rate, time to second purchase",
        purchases,
    ),
    (
        "crosschannel",
        crosschannel.crosschannel,
        [EVENT],
        "Conversion by number of channels engaged on, and by journey",
        crosschannel,
    ),
    (
        "attribution",
        attribution.attribution,
        [
            Option(
                "by",
                "choice",
                "Credit per channel, journey or template.",
                default="channel",
                choices=attribution.DIMENSIONS,
            ),
            EVENT,
            REVENUE,
            Option(
                "window_days",
                "integer",
                "Messages sent this many days before a conversion are its touches.",
                default=attribution.DEFAULT_WINDOW_DAYS,
                low=1,
                high=MAX_DAYS,
            ),
            Option(
                "half_life_days",
                "number",
                "Time-decay half-life in days.",
                default=attribution.DEFAULT_HALF_LIFE_DAYS,
                low=0.01,
                high=MAX_DAYS,
            ),
        ],
        "Conversions and revenue credited to message touches, five models",
        attribution,
    ),
    (
        "journeys",
        journeys.journeys,
        [
            Option(
                "journey",
                "integer",
                "Only this journey (its id).",
                low=1,
                high=2**63 - 1,
            )
        ],
        "Journeys entered, completed, converted, exited by reason; per node",
        journeys,
    ),
    ("channels", channels.channels, [], "Per-channel delivery, open, click, reply rates", channels),
    (
        "service",
        service.service,
        [
            Option(
                "repeat_days",
                "integer",
                "Days after a solved ticket in which another contact is a repeat.",
                default=service.DEFAULT_REPEAT_DAYS,
                low=1,
                high=MAX_DAYS,
            ),
            Option(
                "context_hours",
                "integer",
                "Hours within which inbound messages belong to one conversation.",
                default=service.DEFAULT_CONTEXT_HOURS,
                low=1,
                high=24 * MAX_DAYS,
            ),
        ],
        "Repeat-contact rate and context retention across channels",
        service,
    ),
]

urlpatterns = [
    path(
        f"metrics/{name}",
        metric_view(name, selector, options, summary=summary, module=module).as_view(),
        name=f"metrics-{name}",
    )
    for name, selector, options, summary, module in METRICS
]
