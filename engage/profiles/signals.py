"""Signals other apps listen to when customers are merged or split.

Apps that keep rows per profile (events, consents, scores, segment
memberships...) re-point them here, inside the same transaction as the merge,
instead of the profiles app knowing about every table that references a
profile: those apps depend on profiles, never the reverse.
"""

from django.dispatch import Signal

# Sent after ``merged`` was merged into ``survivor``; ``merge`` is the ProfileMerge.
profile_merged = Signal()

# Sent after ``merge`` was split: ``merged`` is the restored profile, ``survivor``
# the canonical profile it was taken back from (the merge's survivor, or the
# profile that survivor was itself merged into since).
profile_split = Signal()
