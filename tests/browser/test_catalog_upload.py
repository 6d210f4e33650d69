"""An operator uploads a catalog file in Chromium from the products list,
lands on its import run's page and reads which rows were stored and which
line and column to fix."""

from django.contrib.auth.models import User

from engage.catalog.models import Product

CSV = "product_id,title,price\nsku-1,Runner,59.90\n,No id,5\nsku-2,Sock,cheap\n"


def test_a_catalog_file_is_uploaded_from_the_products_list(open_admin_page, workspace):
    admin = User.objects.create_superuser("root", "", "not-used")

    def upload(page) -> dict:
        with page.expect_navigation():
            page.click("text=Upload CSV")
        page.select_option("#id_workspace", value=str(workspace.workspace.pk))
        page.set_input_files(
            "#id_file", {"name": "catalog.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
        )
        page.select_option("#id_mode", value="apply_valid")
        with page.expect_navigation():
            page.click("input[type='submit'][value='Upload']")
        return {
            "message": page.locator(".messagelist li").inner_text(),
            "status": page.locator(".field-status .readonly").inner_text(),
            "problems": page.locator(".field-problems li").all_inner_texts(),
        }

    seen = open_admin_page(admin, "/admin/catalog/product/", upload)

    assert seen["message"].endswith("read 3, stored 1, duplicates 0, invalid 2")
    assert seen["status"] == "succeeded"
    assert seen["problems"] == [
        "line 3: product_id: required: every product needs its id",
        "line 4: price: must be a number, such as 19.90",
    ]
    assert list(Product.objects.values_list("product_id", "title")) == [("sku-1", "Runner")]
