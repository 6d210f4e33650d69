from django.urls import path

from .api import views

urlpatterns = [
    path("profiles/lookup", views.ProfileLookupView.as_view(), name="profile-lookup"),
    path(
        "profiles/<int:profile_id>/events",
        views.ProfileEventsView.as_view(),
        name="profile-events",
    ),
    path("merges/<int:merge_id>/split", views.MergeSplitView.as_view(), name="merge-split"),
]
