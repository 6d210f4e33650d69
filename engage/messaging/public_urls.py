"""Routes customers' mail clients and providers reach, without an API key:
provider webhooks and signed tracking links."""

from django.urls import path

from . import webhooks

app_name = "messaging"

urlpatterns = [
    path("hooks/<int:workspace_id>/<slug:channel_id>/", webhooks.provider_webhook, name="webhook"),
]
