"""API routes, mounted under /api/."""

from django.urls import path

from .api import views

urlpatterns = [
    path("catalog/products", views.ProductListView.as_view(), name="catalog-products"),
    path(
        "catalog/products/<path:product_id>",
        views.ProductDetailView.as_view(),
        name="catalog-product",
    ),
]
