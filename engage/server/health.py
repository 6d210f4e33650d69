"""``/health``: whether this server can serve, for load balancers and monitors.

It answers 200 only after a query went through, since nearly every request
needs the database; an unreachable one is a 503 (from the outage middleware,
``engage.server.database_outage``), so a balancer takes the server out of
rotation instead of sending it requests it would fail. It needs no key and
says nothing about any workspace.
"""

from django.db import connection
from django.http import JsonResponse


def health(request) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": "ok"})
