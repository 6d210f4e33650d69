"""A customer's scores over HTTP (secret key), scoped to the key's workspace."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.api.schema import AUTH_ERRORS, PROFILE_ID, PROFILE_NOT_FOUND
from engage.api.scoping import profile_or_404
from engage.scoring.selectors import profile_scores

from .serializers import ProfileScoresSerializer


class ProfileScoresView(APIView):
    @extend_schema(
        operation_id="profiles_scores",
        summary="Read a customer's scores",
        description="Every scoring model's current value, cell and components, with weekly "
        "history and the trend against the previous week. A merged profile's id resolves to "
        "the profile it was merged into.",
        parameters=[PROFILE_ID],
        responses={200: ProfileScoresSerializer, **AUTH_ERRORS, **PROFILE_NOT_FOUND},
    )
    def get(self, request: Request, profile_id: int) -> Response:
        profile = profile_or_404(request, profile_id)
        data = {"profile_id": profile.pk, "scores": profile_scores(profile)}
        return Response(ProfileScoresSerializer(data).data)
