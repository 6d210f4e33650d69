from django.urls import path

from .api import views

urlpatterns = [
    path("profiles/lookup", views.ProfileLookupView.as_view(), name="profile-lookup"),
    path("profiles/<int:profile_id>", views.ProfileDetailView.as_view(), name="profile-detail"),
    path(
        "profiles/<int:profile_id>/events",
        views.ProfileEventsView.as_view(),
        name="profile-events",
    ),
    path(
        "profiles/<int:profile_id>/export",
        views.ProfileExportView.as_view(),
        name="profile-export",
    ),
    path("merges/<int:merge_id>/split", views.MergeSplitView.as_view(), name="merge-split"),
]
