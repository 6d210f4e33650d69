"""The preference centre page behind a signed link, without an API key.

GET only shows the customer's choices (link scanners prefetch GETs); the
form POSTs with Django's CSRF token, so another site cannot change them.
A link that is expired, tampered with or for a customer no longer known
gets a page saying so, never an error.
"""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import preferences
from .tracking import InvalidToken


@never_cache
@require_http_methods(["GET", "POST"])
def preference_centre(request, token: str):
    try:
        profile = preferences.customer_for(token)
    except preferences.ExpiredToken:
        return _refused(request, "This link has expired. Use the link in a newer message.", 410)
    except InvalidToken:
        return _refused(request, "This link is not valid.", 404)
    saved, error, status = None, "", 200
    if request.method == "POST":
        try:
            saved = preferences.save(profile, request.POST.getlist("chosen"))
        except preferences.InvalidChoice as exc:
            error, status = str(exc), 400
    rows: dict[str, list] = {}
    for choice in preferences.choices(profile):
        rows.setdefault(choice.topic, []).append(choice)
    channels = [choice.channel for choice in next(iter(rows.values()), [])]
    context = {"rows": rows, "channels": channels, "saved": saved, "error": error}
    return render(request, "messaging/preferences.html", context, status=status)


def _refused(request, reason: str, status: int):
    return render(request, "messaging/link_refused.html", {"reason": reason}, status=status)
