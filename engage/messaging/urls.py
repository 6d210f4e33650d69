"""API routes, mounted under /api/."""

from django.urls import path

from .api import templates, views

urlpatterns = [
    path("templates", templates.TemplateListView.as_view(), name="template-list"),
    path(
        "templates/<int:template_id>",
        templates.TemplateDetailView.as_view(),
        name="template-detail",
    ),
    path(
        "templates/<int:template_id>/preview",
        templates.TemplatePreviewView.as_view(),
        name="template-preview",
    ),
    path(
        "templates/<int:template_id>/test-send",
        templates.TemplateTestSendView.as_view(),
        name="template-test-send",
    ),
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
