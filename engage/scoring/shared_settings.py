"""Settings that several built-in scoring models read, declared once.

Each model is configured on its own (a plugin configuration per model and
workspace), so each declares every setting it reads in its
``settings_schema``: RFM and the engagement score both read purchases, the
engagement score counts over the responsiveness window and fades recency out
at the dormancy threshold. The fields below are listed in each of those
schemas, so a setting has one name, one default, one help text and one range
wherever it appears; a workspace sets it per model.
"""

from typing import Any

from engage.plugins.base import SettingField

# Day counts were small-integer columns before they were plugin settings.
MAX_DAYS = 32767

PURCHASE_EVENT = SettingField(
    "purchase_event", default="Order Completed", help="Name of the event recording a purchase."
)
REVENUE_PROPERTY = SettingField(
    "revenue_property",
    default="revenue",
    help="Numeric property of the purchase event holding its amount.",
)
WINDOW_DAYS = SettingField(
    "responsiveness_window_days",
    "integer",
    default=60,
    help="Deliveries and responses of the last N days (30 to 90) count.",
)
DORMANT_DAYS = SettingField(
    "dormancy_dormant_days",
    "integer",
    default=120,
    help="Days without activity after which a customer is dormant.",
)


def between(settings: dict[str, Any], name: str, low: float, high: float) -> dict[str, str]:
    """``{name: reason}`` when the setting is outside ``low`` to ``high``."""
    value = settings.get(name)
    if value is not None and not low <= value <= high:
        return {name: f"must be between {low:g} and {high:g}"}
    return {}


def text(settings: dict[str, Any], name: str, max_length: int) -> dict[str, str]:
    """``{name: reason}`` when the setting is blank or longer than ``max_length``."""
    value = settings.get(name)
    if value is None:
        return {}
    if not value:
        return {name: "must not be blank"}
    if len(value) > max_length:
        return {name: f"at most {max_length} characters"}
    return {}


def check_shared(settings: dict[str, Any]) -> dict[str, str]:
    """Errors of the shared settings present in ``settings``."""
    return {
        **text(settings, "purchase_event", 200),
        **text(settings, "revenue_property", 100),
        **between(settings, "responsiveness_window_days", 30, 90),
        **between(settings, "dormancy_dormant_days", 1, MAX_DAYS),
    }
