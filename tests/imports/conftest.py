from tests.admin.conftest import make_operator  # noqa: F401 - the admin tests' staff clients
