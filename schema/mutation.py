"""The Mutation root type. Business errors come back in `userErrors`; authentication and role errors are errors."""

from __future__ import annotations

import strawberry

from resolvers import apps as app_resolvers
from resolvers.context import Context
from resolvers.errors import AuthenticationError, DomainError, ForbiddenError
from schema.definitions.app import App
from schema.definitions.app_settings import AppSettingsInput
from schema.definitions.payloads import AppPayload, UserError


def _user_error(error: DomainError) -> AppPayload:
    if isinstance(error, AuthenticationError | ForbiddenError):
        raise error
    return AppPayload(user_errors=[UserError.from_error(error)])


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Install an app (admin). Reinstalling an uninstalled app brings its history back.")
    async def app_install(
        self, info: strawberry.Info[Context, None], provider: str, name: str | None = None
    ) -> AppPayload:
        try:
            return AppPayload(app=App.from_row(await app_resolvers.install_app(info.context, provider, name)))
        except DomainError as error:
            return _user_error(error)

    @strawberry.mutation(description="Uninstall an app (admin): its syncs leave the history until it is reinstalled.")
    async def app_uninstall(self, info: strawberry.Info[Context, None], app_id: strawberry.ID) -> AppPayload:
        try:
            return AppPayload(app=App.from_row(await app_resolvers.uninstall_app(info.context, app_id)))
        except DomainError as error:
            return _user_error(error)

    @strawberry.mutation(description="Change an app's settings (admin); fields left out keep their value.")
    async def app_configure(
        self, info: strawberry.Info[Context, None], app_id: strawberry.ID, settings: AppSettingsInput
    ) -> AppPayload:
        try:
            row = await app_resolvers.configure_app(info.context, app_id, settings.to_stored())
            return AppPayload(app=App.from_row(row))
        except DomainError as error:
            return _user_error(error)
