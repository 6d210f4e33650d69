from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from engage.api.routing import methods_of
from engage.events import source_webhooks
from engage.privacy.api.views import ProfileErasureView
from engage.profiles.api.views import ProfileDetailView
from engage.server.health import health
from engage.server.start import start_page

# The admin says whose it is; its "View site" link leads to the start page.
admin.site.site_header = "engage administration"
admin.site.site_title = "engage admin"
admin.site.site_url = "/"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/", include("engage.events.urls")),
    path(
        "api/profiles/<int:profile_id>",
        methods_of(ProfileDetailView, ProfileErasureView).as_view(),
        name="profile-detail",
    ),
    path("api/", include("engage.profiles.urls")),
    path("api/", include("engage.privacy.urls")),
    path("api/", include("engage.segments.urls")),
    path("api/", include("engage.messaging.urls")),
    path("api/", include("engage.scoring.urls")),
    path("api/", include("engage.journeys.urls")),
    path("api/", include("engage.broadcasts.urls")),
    path("api/", include("engage.feedback.urls")),
    path("api/", include("engage.loyalty.urls")),
    path("api/", include("engage.catalog.urls")),
    path("api/", include("engage.metrics.urls")),
    path("api/", include("engage.imports.urls")),
    path(
        "sources/<int:workspace_id>/<slug:importer_id>/",
        source_webhooks.receive,
        name="source-webhook",
    ),
    path("", include("engage.messaging.public_urls")),
    path("", include("engage.inbox.urls")),
    path("", include("engage.feedback.public_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("health", health, name="health"),
    path("", start_page, name="start"),
]

handler404 = "engage.api.not_found.page_not_found"
