"""Errors the client is meant to see (everything else is masked as an internal error)."""

from __future__ import annotations


class DomainError(Exception):
    """A client-facing error; graphql-core copies `extensions` into the response's error."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = {"code": code or self.code}


class AuthenticationError(DomainError):
    code = "UNAUTHENTICATED"


class ForbiddenError(DomainError):
    code = "FORBIDDEN"


class BadInputError(DomainError):
    code = "BAD_USER_INPUT"
