"""Django's 404 for a URL no route matches, in the API's error body under ``/api`` and ``/inbox``.

An id that is not a number (``/api/profiles/abc``) matches no route, so no
API view answers it; without this, an API client would get Django's HTML
page for what is, to it, just an object that does not exist.
"""

from django.http import JsonResponse
from django.views import defaults

API_PREFIXES = ("/api/", "/inbox/")


def page_not_found(request, exception):
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"detail": "Not found.", "errors": {}}, status=404)
    return defaults.page_not_found(request, exception)
