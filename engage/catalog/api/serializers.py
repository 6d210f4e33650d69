"""Shapes of the catalog API. A product's fields are checked as every door
checks them (``validation.clean_product``), so an error names the JSON path
of the bad field (``products[3].price``)."""

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from engage.api import fields
from engage.api.pagination import page_serializer
from engage.catalog.models import PRODUCT_ID_LENGTH, Product
from engage.catalog.validation import clean_product, price

#: products per PUT: a bigger catalog is sent in several requests
MAX_PRODUCTS = 1000

_PRICE = Product._meta.get_field("price")


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = [
            "product_id",
            "title",
            "url",
            "image",
            "price",
            "currency",
            "category",
            "in_stock",
            "updated_at",
        ]


ProductPageSerializer = page_serializer("ProductPage", ProductSerializer)


_WHOLE = _PRICE.max_digits - _PRICE.decimal_places
PRICE_TEXT = rf"^[0-9]{{1,{_WHOLE}}}(\.[0-9]{{1,{_PRICE.decimal_places}}})?$"


@extend_schema_field(
    {
        "oneOf": [
            {"type": "number", "minimum": 0, "exclusiveMaximum": True, "maximum": 10**_WHOLE},
            {"type": "string", "pattern": PRICE_TEXT},
        ]
    }
)
class PriceField(serializers.Field):
    """A price as a JSON number or as text: what shops and spreadsheets send."""

    default_error_messages = {"invalid": "must be a number, such as 19.90"}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            self.fail("invalid")
        if isinstance(data, str) and not re.fullmatch(PRICE_TEXT, data):
            self.fail("invalid")
        try:
            return price(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class ProductInputSerializer(serializers.Serializer):
    """One product to create or update; a field left out keeps its stored value."""

    product_id = fields.CharField(max_length=PRODUCT_ID_LENGTH, help_text="The brand's own id.")
    title = fields.CharField(max_length=500, required=False, allow_blank=True)
    url = fields.CharField(
        max_length=2000, required=False, allow_blank=True, help_text="An http(s) URL."
    )
    image = fields.CharField(
        max_length=2000, required=False, allow_blank=True, help_text="An http(s) URL."
    )
    price = PriceField(
        required=False,
        allow_null=True,
        help_text="Zero or more, at most three decimals, as a number or as text "
        "(`59.90`); null when unknown.",
    )
    currency = fields.CharField(
        max_length=3, required=False, allow_blank=True, help_text="ISO 4217, e.g. EUR."
    )
    category = fields.CharField(max_length=200, required=False, allow_blank=True)
    in_stock = fields.BooleanField(required=False, help_text="True for a new product left out.")

    def validate(self, data):
        cleaned, errors = clean_product(data)
        if errors:
            raise serializers.ValidationError(errors)
        return cleaned


class UpsertSerializer(serializers.Serializer):
    products = ProductInputSerializer(many=True, allow_empty=False, max_length=MAX_PRODUCTS)


class UpsertedSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Products that were not in the catalog.")
    updated = serializers.IntegerField(help_text="Products that were, now changed.")
