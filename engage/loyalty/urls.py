"""API routes, mounted under /api/."""

from django.urls import path

from .api import views

urlpatterns = [
    path(
        "profiles/<int:profile_id>/loyalty",
        views.ProfileLoyaltyView.as_view(),
        name="profile-loyalty",
    ),
    path(
        "loyalty/<int:profile_id>/movements",
        views.MovementsView.as_view(),
        name="loyalty-movements",
    ),
    path(
        "loyalty/accounts/import",
        views.AccountImportView.as_view(),
        name="loyalty-accounts-import",
    ),
]
