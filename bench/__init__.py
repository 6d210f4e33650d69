"""Benchmarks: ``scripts/bench [name ...]`` runs them; docs/performance.md has results.

Every benchmark prints its figures next to a baseline measured in the same run
on the same machine (a raw ``COPY``, a trivial view, a plain ``UPDATE``), and
the ratio between the two: the VM this runs on is noisy (±30% between runs),
and the ratio is what stays comparable.
"""

# Track event names of a shop, shared by the generators so that every benchmark
# writes the same kind of stream.
EVENT_NAMES = (
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Order Completed",
    "Page Scrolled",
    "Search Performed",
    "Video Played",
    "Coupon Applied",
)

# Blank customers of a workspace, (workspace_id, how many): the generators then
# draw their events by id from the range these take.
PROFILES_SQL = """
    INSERT INTO profiles_profile
        (workspace_id, traits, trait_updated_at, timezone, locale, created_at)
    SELECT %s, '{}', '{}', '', '', now() FROM generate_series(1, %s)
"""
