"""Write operations on customers: the door other apps, the admin and the API use.

The work lives in modules named after it: ``resolution`` (which customer an
event belongs to), ``merge`` (merging and splitting), ``traits`` (latest
update wins).
"""

from .merge import merge_profiles, split_merge
from .resolution import extract_identifiers, resolve_identifiers

__all__ = ["extract_identifiers", "merge_profiles", "resolve_identifiers", "split_merge"]
