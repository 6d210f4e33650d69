"""How every app's admin shows big tables, stored JSON and records no one
types in.

Shared by the events, profiles and privacy admins (and any app to come), so
that no app imports another's admin module to get them.
"""

import json

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.utils.html import format_html


class CappedCountPaginator(Paginator):
    """A paginator that counts at most ``CAP`` + 1 rows.

    The admin changelist counts its rows to draw page links; on a table with
    millions of rows that COUNT(*) is the slowest part of the page. Capped,
    the list offers the first pages and search and filters narrow it down.
    """

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.CAP + 1].count()


def pretty_json(value) -> str:
    return format_html(
        "<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    )


class ReadOnly:
    """Before ``ModelAdmin`` (or an inline) in the bases: the rows are shown,
    never added, changed or deleted by hand (computed, or a record of what
    happened)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
