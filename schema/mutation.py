"""The Mutation root type. Business errors come back in `userErrors`; authentication and role errors are errors."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import BinaryIO, TypeVar, cast

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from db.syncs import SyncRow
from resolvers import apps as app_resolvers
from resolvers import sync_actions
from resolvers.context import Context
from resolvers.errors import AuthenticationError, DomainError, ForbiddenError
from schema.definitions.app import App
from schema.definitions.app_settings import AppSettingsInput
from schema.definitions.payloads import AppPayload, ExportStartPayload, ImportStartPayload, SyncPayload, UserError
from schema.definitions.sync import Sync

Payload = TypeVar("Payload", SyncPayload, ImportStartPayload, ExportStartPayload)


def _user_errors(error: DomainError) -> list[UserError]:
    if isinstance(error, AuthenticationError | ForbiddenError):
        raise error
    return [UserError.from_error(error)]


async def _sync_payload(payload: type[Payload], action: Awaitable[SyncRow]) -> Payload:
    try:
        return payload(sync=Sync.from_row(await action))
    except DomainError as error:
        return payload(user_errors=_user_errors(error))


async def _app_payload(action: Awaitable[object]) -> AppPayload:
    try:
        return AppPayload(app=App.from_row(await action))  # type: ignore[arg-type]
    except DomainError as error:
        return AppPayload(user_errors=_user_errors(error))


def _stream(upload: Upload) -> BinaryIO:
    """The uploaded file's stream (Starlette hands strawberry's `Upload` scalar an UploadFile)."""
    return cast(UploadFile, upload).file


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Upload a OneRoster package (zip) to an import app (operator): the sync is "
                         "queued and its progress can be followed with the syncProgress subscription. Uploads use the "
                         "GraphQL multipart request spec with a `GraphQL-Require-Preflight: 1` header.")  # fmt: skip
    async def import_start(
        self, info: strawberry.Info[Context, None], app_id: strawberry.ID, file: Upload, dry_run: bool | None = False
    ) -> ImportStartPayload:
        return await _sync_payload(
            ImportStartPayload, sync_actions.start_import(info.context, app_id, _stream(file), dry_run=bool(dry_run))
        )

    @strawberry.mutation(description="Queue an export run of an export app (operator).")
    async def export_start(self, info: strawberry.Info[Context, None], app_id: strawberry.ID) -> ExportStartPayload:
        return await _sync_payload(ExportStartPayload, sync_actions.start_export(info.context, app_id))

    @strawberry.mutation(description="Apply a HELD import exactly as it was computed (admin): it is queued again.")
    async def sync_approve(self, info: strawberry.Info[Context, None], sync_id: strawberry.ID) -> SyncPayload:
        return await _sync_payload(SyncPayload, sync_actions.approve(info.context, sync_id))

    @strawberry.mutation(description="Discard a HELD import (admin): nothing is applied, its summary stays readable.")
    async def sync_discard(self, info: strawberry.Info[Context, None], sync_id: strawberry.ID) -> SyncPayload:
        return await _sync_payload(SyncPayload, sync_actions.discard(info.context, sync_id))

    @strawberry.mutation(description="Cancel a QUEUED sync, or stop a RUNNING one before it applies (operator).")
    async def sync_cancel(self, info: strawberry.Info[Context, None], sync_id: strawberry.ID) -> SyncPayload:
        return await _sync_payload(SyncPayload, sync_actions.cancel(info.context, sync_id))

    @strawberry.mutation(description="Install an app (admin). Reinstalling an uninstalled app brings its history back.")
    async def app_install(
        self, info: strawberry.Info[Context, None], provider: str, name: str | None = None
    ) -> AppPayload:
        return await _app_payload(app_resolvers.install_app(info.context, provider, name))

    @strawberry.mutation(description="Uninstall an app (admin): its syncs leave the history until it is reinstalled.")
    async def app_uninstall(self, info: strawberry.Info[Context, None], app_id: strawberry.ID) -> AppPayload:
        return await _app_payload(app_resolvers.uninstall_app(info.context, app_id))

    @strawberry.mutation(description="Change an app's settings (admin); fields left out keep their value.")
    async def app_configure(
        self, info: strawberry.Info[Context, None], app_id: strawberry.ID, settings: AppSettingsInput
    ) -> AppPayload:
        return await _app_payload(app_resolvers.configure_app(info.context, app_id, settings.to_stored()))
