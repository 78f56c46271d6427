"""Entity: a record of the tenant's current data (Data Browsing), its references, referrers and history."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from db.entities_read import EntityRow, references_of
from oneroster_csv.model import DataType as StoredDataType
from resolvers import entities as entity_resolvers
from resolvers import records as record_resolvers
from resolvers.context import Context
from resolvers.pagination import Page
from schema.definitions.connection import asks, page_info
from schema.definitions.enums import DataType, data_type_of, stored_data_type
from schema.field_plans import linked

if TYPE_CHECKING:
    from schema.definitions.record import RecordOutcomeConnection


async def _schools(root: Entity, info: strawberry.Info[Context, None]) -> list[Entity]:
    keys = [(StoredDataType.ORGS, school) for school in root.row.schools]
    rows = await entity_resolvers.entities_by_keys(info.context, keys)
    return [Entity.from_row(row) for row in rows if row is not None]


@linked("linked_references")
async def _references(root: Entity, info: strawberry.Info[Context, None]) -> list[EntityReference]:
    if asks(info, "references", "entity"):  # the targets in one loader call
        keys = [
            (target, sourced_id) for _, target, sourced_id in references_of(root.row.data_type, root.row.attributes)
        ]
        link_references(root, await entity_resolvers.entities_by_keys(info.context, keys))
    else:
        link_references(root, None)
    assert root.linked_references is not None
    return root.linked_references


def link_references(entity: Entity, targets: Iterable[EntityRow | None] | None) -> None:
    """Sets the entity's `linked_references`, each with its referenced entity from `targets` when they were read
    (None: not asked for)."""
    found = {(row.data_type, row.sourced_id): Entity.from_row(row) for row in targets or () if row is not None}
    entity.linked_references = [
        EntityReference(field=field, data_type=data_type_of(target), sourced_id=sourced_id,
                        entity=found.get((target, sourced_id)))
        for field, target, sourced_id in references_of(entity.row.data_type, entity.row.attributes)
    ]  # fmt: skip


@strawberry.type
class Entity(relay.Node):
    # A plain attribute (the Node interface's id field is a resolver): an entity list reads it for every entity.
    id: relay.GlobalID = strawberry.field(description="The Globally Unique ID of this object")
    data_type: DataType
    sourced_id: str
    deleted: bool = strawberry.field(description="A deleted entity stays readable, with its last values.")
    attributes: JSON = strawberry.field(description="Every column with a value, metadata.* included.")
    row: strawberry.Private[EntityRow]
    # Read with the entity when the query that loaded it asks for them (link_references); else resolved on their own.
    linked_references: strawberry.Private[list[EntityReference] | None] = None

    @classmethod
    def from_row(cls, row: EntityRow) -> Entity:
        return cls(
            id=relay.GlobalID("Entity", entity_resolvers.entity_key(row.data_type, row.sourced_id)),
            data_type=data_type_of(row.data_type),
            sourced_id=row.sourced_id,
            deleted=row.deleted,
            attributes=JSON(row.attributes),
            row=row,
        )

    @classmethod
    def resolve_id(cls, root: Entity, *, info: strawberry.Info[Context, None]) -> str:
        return root.id.node_id

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Entity | None]:
        rows = await entity_resolvers.entities_by_ids(info.context, node_ids)
        return [None if row is None else cls.from_row(row) for row in rows]

    schools: list[Entity] = strawberry.field(resolver=_schools, description="The schools (orgs) the entity belongs to.")
    references: list[EntityReference] = strawberry.field(
        resolver=_references, description="Every sourcedId the entity points to, by the column that holds it."
    )

    @strawberry.field(description="Entities of a type that point to this one, in sourcedId order.")
    async def referenced_by(
        self,
        info: strawberry.Info[Context, None],
        data_type: DataType,
        first: int,
        after: str | None = None,
        include_deleted: bool = False,
    ) -> EntityConnection:
        page = await entity_resolvers.entity_page(
            info.context, stored_data_type(data_type), first=first, after=after, include_deleted=include_deleted,
            referenced=(self.row.data_type, self.sourced_id),
        )  # fmt: skip
        return EntityConnection.from_page(page)

    @strawberry.field(description="The entity's records across syncs, newest sync first.")
    async def history(
        self, info: strawberry.Info[Context, None], first: int, after: str | None = None
    ) -> Annotated[RecordOutcomeConnection, strawberry.lazy("schema.definitions.record")]:
        from schema.definitions.record import RecordOutcomeConnection

        page = await record_resolvers.entity_history(
            info.context, self.row.data_type, self.sourced_id, first=first, after=after
        )
        return RecordOutcomeConnection.from_page(page)


@strawberry.type
class EntityReference:
    field: str = strawberry.field(description="The CSV column that holds the reference.")
    data_type: DataType
    sourced_id: str
    # Loaded by `Entity.references` for all of an entity's references at once, when the query selects it.
    entity: Entity | None = strawberry.field(
        description="The entity referenced; null when the tenant has no such entity.", default=None
    )


@strawberry.type(description="An edge in a connection.")
class EntityEdge(relay.Edge[Entity]):
    pass  # a concrete class, not an alias of the generic Edge: execution completes its objects by class (a plain path)


@strawberry.type
class EntityConnection(relay.Connection[Entity]):
    edges: list[EntityEdge] = strawberry.field(description="Contains the nodes in this connection")  # type: ignore[assignment]
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @classmethod
    def from_page(cls, page: Page[EntityRow]) -> EntityConnection:
        edges = [EntityEdge(node=Entity.from_row(row), cursor=cursor)
                 for row, cursor in zip(page.items, page.cursors, strict=True)]  # fmt: skip
        return cls(edges=edges, page_info=page_info(page), count=page.count)

    @strawberry.field(description="How many entities match, over all pages.")
    async def total_count(self) -> int:
        return await self.count()
