"""One product's fields checked, whichever door they came in by.

The API's serializer, a CSV row and a catalog event all end here, so a price
or a URL means the same thing from each: every error names the field and
the reason, and a product with any bad field is not stored at all (a half
product would show a wrong price in a message).
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from .models import PRODUCT_ID_LENGTH, Product

#: the fields a product has besides its id, as the API and CSV name them
FIELDS = ("title", "url", "image", "price", "currency", "category", "in_stock")

_MAX = {
    name: Product._meta.get_field(name).max_length for name in ("title", "url", "image", "category")
}
_URL = URLValidator(schemes=["http", "https"])
_PRICE_FIELD = Product._meta.get_field("price")
_TRUE = ("true", "1", "yes")
REQUIRED = "required: every product needs its id"
_FALSE = ("false", "0", "no")


def product_id(value) -> str:
    """The brand's id as text (a JSON number is read as its digits)."""
    if value is None:
        raise ValueError(REQUIRED)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("must be a string")
    text = str(value).strip()
    if not text:
        raise ValueError(REQUIRED)
    if len(text) > PRODUCT_ID_LENGTH:
        raise ValueError(f"at most {PRODUCT_ID_LENGTH} characters")
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


def text(name: str, value) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    value = value.strip()
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if len(value) > _MAX[name]:
        raise ValueError(f"at most {_MAX[name]} characters")
    return value


def url(name: str, value) -> str:
    value = text(name, value)
    if value:
        try:
            _URL(value)
        except ValidationError:
            raise ValueError("must be an http or https URL") from None
    return value


def price(value) -> Decimal | None:
    """A price of at most three decimals, zero or more; blank for unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("must be a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be a number, such as 19.90") from None
    if not number.is_finite():
        raise ValueError("must be a number, such as 19.90")
    if number < 0:
        raise ValueError("must not be negative")
    if number.as_tuple().exponent < -_PRICE_FIELD.decimal_places:
        raise ValueError(f"at most {_PRICE_FIELD.decimal_places} decimal places")
    whole = _PRICE_FIELD.max_digits - _PRICE_FIELD.decimal_places
    if number >= 10**whole:
        raise ValueError(f"must be less than {10**whole}")
    return number


def currency(value) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    value = value.strip().upper()
    if value and not (len(value) == 3 and value.isascii() and value.isalpha()):
        raise ValueError("must be a three-letter ISO 4217 code, such as EUR")
    return value


def in_stock(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("must be true or false")


_CLEAN = {
    "title": lambda value: text("title", value),
    "url": lambda value: url("url", value),
    "image": lambda value: url("image", value),
    "price": price,
    "currency": currency,
    "category": lambda value: text("category", value),
    "in_stock": in_stock,
}


def clean_product(data: dict) -> tuple[dict, dict[str, str]]:
    """The product's fields cleaned, and ``{field: reason}`` for each bad one.

    ``product_id`` is required; the other fields are those of ``FIELDS``
    present in ``data`` (a field left out keeps its stored value). Keys not
    in ``FIELDS`` are the caller's to refuse or ignore.
    """
    cleaned, errors = {}, {}
    try:
        cleaned["product_id"] = product_id(data.get("product_id"))
    except ValueError as exc:
        errors["product_id"] = str(exc)
    for name in FIELDS:
        if name in data:
            try:
                cleaned[name] = _CLEAN[name](data[name])
            except ValueError as exc:
                errors[name] = str(exc)
    return cleaned, errors
