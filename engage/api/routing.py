"""One URL served by views of different apps, one HTTP method each.

``/api/profiles/<id>`` is read by the profiles app and erased (DELETE) by the
privacy app; Django routes a path to one view, so the two are joined here,
at the URL, rather than one app's view importing the other's.
"""

from rest_framework.views import APIView


def methods_of(*views: type[APIView]) -> type[APIView]:
    """A view answering each HTTP method with the one of ``views`` that defines it."""
    seen: dict[str, type[APIView]] = {}
    for view in views:
        for method in view.http_method_names:
            if method != "options" and hasattr(view, method):
                if method in seen:
                    raise ValueError(f"{method} is answered by {seen[method]} and {view}")
                seen[method] = view
    return type("".join(view.__name__ for view in views), views, {})
