"""The catalog as django-import-export writes it out of the admin.

A product's title or category is whatever the brand (or a catalog event)
said, so a cell may start with ``=`` or ``@``; every text cell goes through
``escape_formula`` so a spreadsheet opening the export shows it rather than
running it.
"""

from import_export import resources

from engage.imports.spreadsheet import escape_formula

from .models import Product
from .validation import FIELDS


class ProductResource(resources.ModelResource):
    class Meta:
        model = Product
        fields = ("product_id", *FIELDS, "updated_at")
        export_order = fields

    def export_field(self, field, instance, **kwargs):
        return escape_formula(super().export_field(field, instance, **kwargs))
