"""OpenAPI (drf-spectacular) for the door's authentication classes."""

from drf_spectacular.authentication import TokenScheme


class RememberedTokenScheme(TokenScheme):
    """A remembered token is the same credential as any other token: the scan is
    described with the token scheme ("tokenAuth") that the door's other endpoints
    register, and adds no scheme of its own."""

    target_class = "attendance.door_auth.RememberedTokenAuthentication"
    match_subclasses = False
    priority = 1
    name = []

    def get_security_requirement(self, auto_schema):
        return {TokenScheme.name: []}

    def get_security_definition(self, auto_schema):
        return []
