"""Mutation payloads: the changed object, or `userErrors` saying why not."""

from __future__ import annotations

import strawberry

from resolvers.errors import DomainError
from schema.definitions.app import App
from schema.definitions.sync import Sync


@strawberry.type
class UserError:
    message: str
    code: str
    field: list[str] | None = None

    @classmethod
    def from_error(cls, error: DomainError, field: list[str] | None = None) -> UserError:
        return cls(message=error.message, code=str(error.extensions["code"]), field=field)


@strawberry.type
class AppPayload:
    app: App | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SyncPayload:
    sync: Sync | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ImportStartPayload:
    sync: Sync | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ExportStartPayload:
    sync: Sync | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
