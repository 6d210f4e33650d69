from django.db.models import QuerySet

from engage.workspaces.models import Workspace

from .models import Product


def products(*, workspace: Workspace, category: str = "") -> QuerySet[Product]:
    rows = Product.objects.filter(workspace=workspace)
    return rows.filter(category=category) if category else rows


def product(*, workspace: Workspace, product_id: str) -> Product | None:
    return Product.objects.filter(workspace=workspace, product_id=product_id).first()
