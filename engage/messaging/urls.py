"""API routes, mounted under /api/."""

from django.urls import path

from .api import views

urlpatterns = [
    path("messages/send", views.SendMessageView.as_view(), name="message-send"),
    path("messages/<int:message_id>", views.MessageDetailView.as_view(), name="message-detail"),
    path(
        "messages/<int:message_id>/cancel",
        views.CancelMessageView.as_view(),
        name="message-cancel",
    ),
    path(
        "profiles/<int:profile_id>/consents",
        views.ProfileConsentsView.as_view(),
        name="profile-consents",
    ),
    path(
        "profiles/<int:profile_id>/decisions",
        views.ProfileDecisionsView.as_view(),
        name="profile-decisions",
    ),
]
