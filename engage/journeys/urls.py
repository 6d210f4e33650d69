"""API routes, mounted under /api/."""

from django.urls import path

from .api import views

urlpatterns = [
    path("journeys", views.JourneyListView.as_view(), name="journey-list"),
    path("journeys/<int:journey_id>", views.JourneyDetailView.as_view(), name="journey-detail"),
    path(
        "journeys/<int:journey_id>/versions",
        views.VersionListView.as_view(),
        name="journey-versions",
    ),
    path(
        "journeys/<int:journey_id>/versions/<int:number>",
        views.VersionDetailView.as_view(),
        name="journey-version",
    ),
    path(
        "journeys/<int:journey_id>/versions/<int:number>/publish",
        views.PublishView.as_view(),
        name="journey-publish",
    ),
    path(
        "journeys/<int:journey_id>/versions/<int:number>/publish/plan",
        views.PublishPlanView.as_view(),
        name="journey-publish-plan",
    ),
    path("journeys/<int:journey_id>/pause", views.PauseView.as_view(), name="journey-pause"),
    path("journeys/<int:journey_id>/resume", views.ResumeView.as_view(), name="journey-resume"),
    path("journeys/<int:journey_id>/stop", views.StopView.as_view(), name="journey-stop"),
    path("journeys/<int:journey_id>/counts", views.CountsView.as_view(), name="journey-counts"),
    path(
        "journeys/<int:journey_id>/enrollments",
        views.EnrollmentsView.as_view(),
        name="journey-enrollments",
    ),
    path(
        "profiles/<int:profile_id>/journeys",
        views.ProfileJourneysView.as_view(),
        name="profile-journeys",
    ),
]
