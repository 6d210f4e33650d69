from django.urls import path

from .api import views

app_name = "inbox"

urlpatterns = [
    path("api/inbox/tokens", views.InboxTokenView.as_view(), name="tokens"),
    path("inbox/messages", views.InboxView.as_view(), name="messages"),
    path(
        "inbox/messages/<int:entry_id>/read",
        views.InboxEntryActionView.as_view(action="read"),
        name="read",
    ),
    path(
        "inbox/messages/<int:entry_id>/dismiss",
        views.InboxEntryActionView.as_view(action="dismiss"),
        name="dismiss",
    ),
]
