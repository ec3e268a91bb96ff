"""The API tests' token fixtures, for the security tests that call the API."""

from tests.trace.api.conftest import api_as, inspector_api, token_for  # noqa: F401 - fixtures
