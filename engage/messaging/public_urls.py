"""Routes customers' mail clients and providers reach, without an API key:
provider webhooks (channels', and ESPs' through anymail), signed
tracking links and the signed preference centre."""

from django.urls import path

from . import esp, preference_views, tracking_views, webhooks

app_name = "messaging"

urlpatterns = [
    path("hooks/<int:workspace_id>/<slug:channel_id>/", webhooks.provider_webhook, name="webhook"),
    path("t/u/<str:token>/", tracking_views.unsubscribe, name="unsubscribe"),
    path("t/c/<str:token>/", tracking_views.click, name="click"),
    path("t/o/<str:token>/", tracking_views.open_pixel, name="open"),
    path("t/p/<str:token>/", preference_views.preference_centre, name="preferences"),
    path("anymail/<slug:esp>/tracking/", esp.tracking_webhook, name="esp-tracking"),
]
