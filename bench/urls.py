"""engage's URLs plus ``/bench/noop``: the same Django stack doing no work.

The single-event ingestion benchmark compares ``/v1/track`` with this view,
served by the same gunicorn, so the ratio shows what ingestion itself costs
on top of HTTP, WSGI and Django's middleware.
"""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as engage_urlpatterns


@csrf_exempt
def noop(request):
    return HttpResponse(b'{"success":true}', content_type="application/json")


urlpatterns = [*engage_urlpatterns, path("bench/noop", noop)]
