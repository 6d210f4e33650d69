"""API routes, mounted under /api/."""

from django.urls import path

from .api import views

urlpatterns = [
    path(
        "profiles/<int:profile_id>/scores",
        views.ProfileScoresView.as_view(),
        name="profile-scores",
    ),
]
