"""Loyalty over HTTP (secret key): a customer's state and history,
redemptions and adjustments, and imports from an external loyalty system."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.api import pagination
from engage.api.exceptions import Conflict
from engage.api.schema import AUTH_ERRORS, PROFILE_ID, PROFILE_NOT_FOUND, error
from engage.api.scoping import profile_or_404, workspace_of

from .. import selectors, services
from .serializers import (
    KINDS,
    ImportedSerializer,
    ImportSerializer,
    LoyaltySerializer,
    MovedSerializer,
    MovementInputSerializer,
    MovementSerializer,
)

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
HISTORY_ORDER = ("-id",)
NO_PROGRAMME = error("The workspace has no loyalty programme.")


def _refused(exc: services.LoyaltyError):
    if exc.conflict:
        path, reasons = next(iter(exc.errors.items()))
        return Conflict(path, reasons[0])
    return ValidationError(exc.errors)


def _account(profile, account) -> dict:
    return {
        "profile_id": profile.pk,
        "programme": account.programme.name if account else None,
        "tier": account.tier if account else "",
        "points": account.points if account else 0,
        "external_id": account.external_id if account else "",
        "tier_changed_at": account.tier_changed_at if account else None,
    }


class ProfileLoyaltyView(APIView):
    @extend_schema(
        operation_id="profiles_loyalty",
        summary="Read a customer's loyalty state and points history",
        description="Programme, tier, balance and the movements that make it (earned, "
        "redeemed, expired, adjusted; earnings name their source event). Cursor-paginated "
        "history, newest first.",
        parameters=[
            PROFILE_ID,
            *pagination.page_parameters(default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT),
        ],
        responses={
            200: LoyaltySerializer,
            400: error("A bad cursor or limit."),
            **AUTH_ERRORS,
            **PROFILE_NOT_FOUND,
        },
    )
    def get(self, request: Request, profile_id: int) -> Response:
        profile = profile_or_404(request, profile_id)
        page = pagination.page_of(
            request,
            selectors.history(profile),
            order=HISTORY_ORDER,
            default_limit=DEFAULT_LIMIT,
            max_limit=MAX_LIMIT,
        )
        history = MovementSerializer(page.rows, many=True).data
        body = _account(profile, selectors.account_of(profile))
        body["history"] = pagination.paged(request, page, history)
        return Response(body)


class MovementsView(APIView):
    @extend_schema(
        operation_id="loyalty_movements_create",
        summary="Redeem or adjust a customer's points",
        description="`redeem` never takes a balance below zero: more than the balance is "
        "refused (409 naming `points`) and nothing moves. With a `reference` already used "
        "for the same movement, that movement is answered (200) and nothing moves again.",
        parameters=[PROFILE_ID],
        request=MovementInputSerializer,
        responses={
            201: MovedSerializer,
            200: MovedSerializer,
            **AUTH_ERRORS,
            **PROFILE_NOT_FOUND,
            409: error(
                "More points than the balance, a reference used for another movement, "
                "or no loyalty programme."
            ),
        },
    )
    def post(self, request: Request, profile_id: int) -> Response:
        profile = profile_or_404(request, profile_id)
        data = MovementInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        try:
            moved = services.move_points(
                profile=profile,
                kind=KINDS[given["kind"]],
                points=given["points"],
                reason=given["reason"],
                reference=given["reference"],
            )
        except services.LoyaltyError as exc:
            raise _refused(exc) from None
        body = {
            "movement": MovementSerializer(moved.movement).data,
            "account": _account(profile, moved.account),
        }
        return Response(body, status=200 if moved.replayed else 201)


class AccountImportView(APIView):
    @extend_schema(
        operation_id="loyalty_accounts_import",
        summary="Import accounts from an external loyalty system",
        description="All or nothing: every row is checked first, and a 400 names each bad "
        "one (`accounts[3].external_id`). A balance that differs becomes one `adjusted` "
        "movement, so importing the same file twice changes nothing the second time.",
        request=ImportSerializer,
        responses={200: ImportedSerializer, **AUTH_ERRORS, 409: NO_PROGRAMME},
    )
    def post(self, request: Request) -> Response:
        data = ImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            imported = services.import_accounts(
                workspace=workspace_of(request), rows=data.validated_data["accounts"]
            )
        except services.LoyaltyError as exc:
            raise _refused(exc) from None
        return Response(ImportedSerializer(imported).data)
