"""API routes, mounted under /api/."""

from django.urls import path

from .api import views

urlpatterns = [
    path("broadcasts", views.BroadcastListView.as_view(), name="broadcast-list"),
    path(
        "broadcasts/<int:broadcast_id>",
        views.BroadcastDetailView.as_view(),
        name="broadcast-detail",
    ),
    path(
        "broadcasts/<int:broadcast_id>/schedule",
        views.ScheduleView.as_view(),
        name="broadcast-schedule",
    ),
    path("broadcasts/<int:broadcast_id>/pause", views.PauseView.as_view(), name="broadcast-pause"),
    path(
        "broadcasts/<int:broadcast_id>/resume", views.ResumeView.as_view(), name="broadcast-resume"
    ),
    path(
        "broadcasts/<int:broadcast_id>/cancel", views.CancelView.as_view(), name="broadcast-cancel"
    ),
]
