"""``/v1/``: the Segment-compatible ingestion API (reference: docs/api.md)."""

from django.urls import re_path

from .ingestion import views

# Segment's paths have no trailing slash; accept one too rather than redirect a POST.
urlpatterns = [
    re_path(rf"^{name}/?$", getattr(views, name), name=f"ingest-{name}")
    for name in ("identify", "track", "page", "screen", "group", "alias", "batch")
]
