from django.urls import path

from . import api

app_name = "inbox"

urlpatterns = [
    path("api/inbox/tokens", api.InboxTokenView.as_view(), name="tokens"),
    path("inbox/messages", api.InboxView.as_view(), name="messages"),
    path(
        "inbox/messages/<int:entry_id>/read",
        api.InboxEntryActionView.as_view(action="read"),
        name="read",
    ),
    path(
        "inbox/messages/<int:entry_id>/dismiss",
        api.InboxEntryActionView.as_view(action="dismiss"),
        name="dismiss",
    ),
]
