"""A small shop worked by hand, shared by the PostgreSQL tests and the
embedded SQLite run, so both databases must give the same answers.

Catalog: shoes A, B, E and D (out of stock), socks C.
Orders (all in the last two weeks): alice [A, B]; bob [A, C] and [A, B];
carol [A, D] and [B, E]; erin [A]. Co-purchases: A+B in 2 orders, A+C, A+D,
B+E in 1 each. Orders holding each shoe: A 5, B 3, D 1, E 1.
alice viewed A (bought) a day ago and C two days ago.
dave bought nothing; he viewed socks C three times (1, 3 and 4 days ago),
shoe A (2 days ago), D today (out of stock) and B 100 days ago.
"""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from engage.catalog.models import Product
from engage.events.models import Event
from engage.profiles.models import Profile

CATALOG = {
    "A": ("shoes", True),
    "B": ("shoes", True),
    "C": ("socks", True),
    "D": ("shoes", False),
    "E": ("shoes", True),
}
ORDERS = {
    "alice": [["A", "B"]],
    "bob": [["A", "C"], ["A", "B"]],
    "carol": [["A", "D"], ["B", "E"]],
    "erin": [["A"]],
}
VIEWS = {
    "alice": [("A", 1), ("C", 2)],
    "dave": [("C", 1), ("C", 3), ("C", 4), ("A", 2), ("D", 0), ("B", 100)],
}

# What each built-in recommends, worked out by hand from the data above.
EXPECTED = {
    "bought_together": {
        "alice": ["C", "E"],  # A+C 1, B+E 1 (tie: by id); A+D: D is out of stock
        "bob": ["E"],  # A+D: out of stock; B+E 1
        "carol": ["C"],  # A+B and B+A: B bought; A+C 1
        "erin": ["B", "C"],  # A+B 2, A+C 1
        "dave": [],
    },
    "popular_in_category": {
        "alice": ["E"],  # shoes (2 lines, 1 view): A, B bought, D out of stock
        "bob": ["E"],  # shoes (3 lines against 1 sock)
        "carol": [],  # shoes: A, B, E all bought
        "erin": ["B", "E"],  # shoes: B in 3 orders, E in 1
        "dave": ["C"],  # socks (3 views against 2 shoes): C in 1 order
    },
    "recently_viewed": {
        "alice": ["C"],  # A was bought
        "dave": ["C", "A"],  # D is out of stock, B was viewed 100 days ago
    },
}


def build(workspace) -> dict[str, Profile]:
    now = timezone.now()
    for product_id, (category, in_stock) in CATALOG.items():
        Product.objects.create(
            workspace=workspace,
            product_id=product_id,
            title=f"Product {product_id}",
            url=f"https://shop.example/{product_id}",
            image=f"https://shop.example/{product_id}.jpg",
            price=Decimal("19.90"),
            currency="EUR",
            category=category,
            in_stock=in_stock,
            updated_at=now,
        )
    people = {name: Profile.objects.create(workspace=workspace) for name in [*ORDERS, "dave"]}
    events = []
    for name, orders in ORDERS.items():
        for n, lines in enumerate(orders):
            at = now - dt.timedelta(days=10 - n)
            properties = {"order_id": f"{name}-{n}", "products": [{"product_id": p} for p in lines]}
            events.append((people[name], "Order Completed", at, properties))
    for name, views in VIEWS.items():
        for product_id, days in views:
            at = now - dt.timedelta(days=days, minutes=1)
            events.append((people[name], "Product Viewed", at, {"product_id": product_id}))
    Event.objects.bulk_create(
        Event(
            workspace=workspace,
            profile=profile,
            origin_profile_id=profile.pk,
            message_id=f"m{n}",
            type="track",
            name=event_name,
            timestamp=at,
            received_at=at,
            processed_at=at,
            properties=properties,
        )
        for n, (profile, event_name, at, properties) in enumerate(events)
    )
    return people
