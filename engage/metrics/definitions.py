"""What the metrics count, decided once per workspace: a purchase, its revenue,
what counts as the customer's own activity, when a customer is dormant.

Metrics read the same settings the scoring models do (the RFM model's
purchase event and revenue property, the dormancy model's threshold), so a
workspace that renamed its purchase event sees the same purchases in its
scores and in its reports. A request may override the purchase event and
revenue property (``event``, ``revenue_property``) to measure another goal.
"""

from dataclasses import dataclass

from engage.scoring.kinds import kinds_cte
from engage.scoring.services import workspace_models
from engage.scoring.shared_settings import DORMANT_DAYS, PURCHASE_EVENT, REVENUE_PROPERTY
from engage.workspaces.models import Workspace

# Inbound messages are stored as "<channel label> Message Received" events
# with the channel's id in ``channel`` (engage.messaging.timeline).
INBOUND_SUFFIX = " Message Received"
TICKET_OPENED = "Ticket Opened"
TICKET_SOLVED = "Ticket Solved"


@dataclass(frozen=True)
class Purchase:
    event: str
    revenue_property: str


def _settings(workspace: Workspace, model_id: str) -> dict:
    models = workspace_models(workspace, [model_id])
    return models[0].settings if models else {}


def purchase(
    workspace: Workspace, *, event: str | None = None, revenue_property: str | None = None
) -> Purchase:
    """The purchase event and its revenue property: the request's, else the
    workspace's RFM settings, else the shared defaults."""
    settings = _settings(workspace, "rfm")
    return Purchase(
        event=event or settings.get("purchase_event") or PURCHASE_EVENT.default,
        revenue_property=revenue_property
        or settings.get("revenue_property")
        or REVENUE_PROPERTY.default,
    )


def dormant_days(workspace: Workspace) -> int:
    """The dormancy model's threshold: days without activity after which a
    customer is dormant."""
    return _settings(workspace, "dormancy").get("dormancy_dormant_days") or DORMANT_DAYS.default


def activity_kinds(workspace: Workspace) -> tuple[str, list]:
    """The scoring models' ``kinds`` CTE: events engage wrote itself (sends,
    deliveries, segment changes) are not the customer's activity; a LEFT JOIN
    to it with ``COALESCE(k.activity, 1) = 1`` keeps what the customer did."""
    return kinds_cte(workspace.pk)
