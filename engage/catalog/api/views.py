"""The catalog over HTTP (secret key), scoped to the key's workspace."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.api import pagination, parameters
from engage.api.scoping import workspace_of
from engage.catalog import selectors, services
from engage.catalog.models import Product

from .serializers import (
    ProductPageSerializer,
    ProductSerializer,
    UpsertedSerializer,
    UpsertSerializer,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

PRODUCT_ID = OpenApiParameter(
    "product_id", str, OpenApiParameter.PATH, description="The brand's own id."
)


def _product_or_404(request: Request, product_id: str) -> Product:
    found = None
    if "\x00" not in product_id:  # PostgreSQL text cannot hold NUL: no product has one
        found = selectors.product(workspace=workspace_of(request), product_id=product_id)
    if found is None:
        raise NotFound("product_id: no product with this id in this workspace.")
    return found


class ProductListView(APIView):
    @extend_schema(
        operation_id="catalog_products_list",
        responses=ProductPageSerializer,
        summary="List products",
        description="By product id. Cursor-paginated as every list is: follow `next` for "
        "more, `previous` to go back.",
        parameters=[
            OpenApiParameter("category", str, description="Only products of this category."),
            *pagination.page_parameters(default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT),
        ],
    )
    def get(self, request: Request) -> Response:
        category = parameters.text(request.query_params, "category")
        page = pagination.page_of(
            request,
            selectors.products(workspace=workspace_of(request), category=category),
            order=("product_id",),
            default_limit=DEFAULT_LIMIT,
            max_limit=MAX_LIMIT,
        )
        data = ProductSerializer(page.rows, many=True).data
        return Response(pagination.paged(request, page, data))

    @extend_schema(
        operation_id="catalog_products_upsert",
        request=UpsertSerializer,
        responses=UpsertedSerializer,
        summary="Create or update products",
        description="Each product by its `product_id`: a new id is created, a known one "
        "updated; a field left out keeps its stored value. A bad field is answered 400 "
        "naming its path (`products[3].price`) and nothing is stored.",
    )
    def put(self, request: Request) -> Response:
        data = UpsertSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.upsert_products(
            workspace=workspace_of(request), products=data.validated_data["products"]
        )
        return Response({"created": result.created, "updated": result.updated})


class ProductDetailView(APIView):
    @extend_schema(
        operation_id="catalog_products_retrieve",
        responses=ProductSerializer,
        summary="A product",
        parameters=[PRODUCT_ID],
    )
    def get(self, request: Request, product_id: str) -> Response:
        return Response(ProductSerializer(_product_or_404(request, product_id)).data)

    @extend_schema(
        operation_id="catalog_products_destroy",
        responses={204: None},
        summary="Remove a product",
        parameters=[PRODUCT_ID],
    )
    def delete(self, request: Request, product_id: str) -> Response:
        product = _product_or_404(request, product_id)
        services.delete_products(workspace=workspace_of(request), product_ids=[product.product_id])
        return Response(status=204)
