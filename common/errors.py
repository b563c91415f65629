class DomainError(Exception):
    """A refusal the user can act on: a stable `code` plus a translated message."""

    code = "error"

    def __init__(self, code: str, message: str, *, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
