"""API routes, mounted under /api/."""

from django.urls import path

from .api import views

urlpatterns = [
    path("segments", views.SegmentListView.as_view(), name="segment-list"),
    path("segments/preview", views.SegmentPreviewView.as_view(), name="segment-preview"),
    path("segments/<int:segment_id>", views.SegmentDetailView.as_view(), name="segment-detail"),
    path(
        "segments/<int:segment_id>/members",
        views.SegmentMembersView.as_view(),
        name="segment-members",
    ),
    path(
        "segments/<int:segment_id>/members/<int:profile_id>",
        views.SegmentMemberView.as_view(),
        name="segment-member",
    ),
]
