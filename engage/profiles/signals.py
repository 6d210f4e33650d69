"""Signals other apps listen to when customers are merged or split.

Apps that keep rows per profile (events, consents, scores, segment
memberships...) re-point them here, inside the same transaction as the merge,
instead of the profiles app knowing about every table that references a
profile: those apps depend on profiles, never the reverse.

Both signals announce a batch: ``pairs`` may hold many merges, so a receiver
re-points its rows with one statement per table whatever the number of pairs
(``repoint.survivors`` and ``repoint.moved_to`` build that statement), never
one per pair.
"""

from django.dispatch import Signal

# Sent with ``workspace`` and ``pairs``, a list of (survivor_id, merged_id,
# merge_id), after the identities moved. A profile may be a survivor in one
# pair and merged in a later one: rows follow the chain to its end.
profiles_merged = Signal()

# Sent with ``workspace`` and ``pairs``, a list of (holder_id, restored_id,
# merge_id), after those merges were split: ``restored`` is the profile brought
# back, ``holder`` the canonical profile it was taken back from (the merge's
# survivor, or the profile that survivor was itself merged into since).
profiles_split = Signal()
