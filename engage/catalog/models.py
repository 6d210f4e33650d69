from django.db import models

from engage.workspaces.models import Workspace

PRODUCT_ID_LENGTH = 200


class Product(models.Model):
    """One product of a brand's catalog, known by the brand's own id.

    Recommendations name products by ``product_id`` (what order and view
    events carry), so rows are replaced by id, never by our primary key.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    product_id = models.CharField(max_length=PRODUCT_ID_LENGTH, help_text="The brand's own id.")
    title = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    image = models.URLField(max_length=2000, blank=True)
    price = models.DecimalField(max_digits=15, decimal_places=3, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, help_text="ISO 4217, e.g. EUR.")
    category = models.CharField(max_length=200, blank=True)
    in_stock = models.BooleanField(default=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "product_id"], name="catalog_product_id_unique"
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "category", "product_id"], name="catalog_category")
        ]

    def __str__(self) -> str:
        return self.title or self.product_id


class CoPurchase(models.Model):
    """How many orders held both products: the ``bought_together`` model.

    Counting pairs means joining every order line with the other lines of its
    order, too much to do while a batch of messages renders; a nightly task
    replaces a workspace's rows in one statement and rendering only looks
    them up. Each product keeps its most frequent partners
    (``copurchase.PARTNERS``), so a lookup reads one short index range per
    product a customer bought.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    product_id = models.CharField(max_length=PRODUCT_ID_LENGTH)
    other_id = models.CharField(max_length=PRODUCT_ID_LENGTH)
    orders = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "product_id", "other_id"], name="catalog_copurchase_pair"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_id} + {self.other_id}: {self.orders}"
