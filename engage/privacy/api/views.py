"""The data subject's rights over HTTP (secret key): export and erase a customer.

These endpoints sit beside the customer they act on (``/api/profiles/<id>``),
but they are the privacy app's: each is recorded as a privacy request, and
what they reach is every table that refers to a profile
(``services.profile_relations``), not the profiles app's own tables only.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.api.schema import AUTH_ERRORS, PROFILE_ID, PROFILE_NOT_FOUND
from engage.api.scoping import profile_or_404, requested_by
from engage.privacy.services import erase_profile, export_profile

from .serializers import ErasureSerializer


class ProfileErasureView(APIView):
    @extend_schema(
        operation_id="profiles_erase",
        summary="Erase a customer (right to erasure)",
        description="Deletes the profile, every profile merged into it, and every row of any "
        "table that refers to them (identities, events, merges, ...). Each identifier is "
        "suppressed (stored hashed), so events that carry it later are dropped. Recorded as "
        "a privacy request. Cannot be undone.",
        parameters=[PROFILE_ID],
        responses={200: ErasureSerializer, **AUTH_ERRORS, **PROFILE_NOT_FOUND},
        examples=[
            OpenApiExample(
                "Erased",
                value={
                    "profile_id": 42,
                    "privacy_request_id": 3,
                    "suppressed_identifiers": 3,
                    "erased": {
                        "profiles": 2,
                        "identities": 3,
                        "events": 120,
                        "merges": 1,
                        "tables": {
                            "events.Event": 120,
                            "profiles.Identity": 3,
                            "profiles.Profile": 2,
                            "profiles.ProfileMerge": 1,
                        },
                    },
                },
                response_only=True,
            )
        ],
    )
    def delete(self, request: Request, profile_id: int) -> Response:
        profile = profile_or_404(request, profile_id)
        erasure = erase_profile(profile=profile, requested_by=requested_by(request))
        return Response(ErasureSerializer(erasure).data)


class ProfileExportView(APIView):
    @extend_schema(
        operation_id="profiles_export",
        summary="Export everything held on a customer (right of access)",
        description="The profile, profiles merged into it, identities, events, merges, and "
        "rows of every other table that refers to them (under `related`, keyed by "
        "`app.model`). Recorded as a privacy request.",
        parameters=[PROFILE_ID],
        responses={200: OpenApiTypes.OBJECT, **AUTH_ERRORS, **PROFILE_NOT_FOUND},
        examples=[
            OpenApiExample(
                "Export",
                value={
                    "exported_at": "2025-03-02T12:00:00Z",
                    "workspace": "acme",
                    "profile": {"id": 42, "traits": {"plan": "pro"}, "merged_into_id": None},
                    "merged_profiles": [{"id": 57, "merged_into_id": 42}],
                    "identities": [{"id": 9, "kind": "email", "value": "ada@example.com"}],
                    "events": [{"id": 1001, "type": "track", "name": "Order Completed"}],
                    "merges": [{"id": 7, "survivor_id": 42, "merged_id": 57}],
                    "related": {},
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, profile_id: int) -> Response:
        profile = profile_or_404(request, profile_id)
        return Response(export_profile(profile=profile, requested_by=requested_by(request)))
