"""API routes, mounted under /api/. Erasure shares the profile's own URL:
config/urls.py joins it to the profiles app's read."""

from django.urls import path

from .api import views

urlpatterns = [
    path(
        "profiles/<int:profile_id>/export",
        views.ProfileExportView.as_view(),
        name="profile-export",
    ),
]
