"""What every keyset connection shares: page info built from a resolver's page, and what a selection asks for."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from strawberry import Info, relay
from strawberry.types.nodes import SelectedField, Selection

from resolvers.pagination import Page


def page_info(page: Page[Any]) -> relay.PageInfo:
    return relay.PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=False,  # forward-only keyset paging; the Relay spec allows false here
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )


def selects(selections: Iterable[Selection], *path: str) -> bool:
    """Whether a selection asks for the field at `path` (GraphQL names, one per level), through fragments and aliases.

    Errs on asking: directives (@skip, @include) are not evaluated, so a relation is loaded when it might be shown.
    """
    name, rest = path[0], path[1:]
    for selection in selections:
        if not isinstance(selection, SelectedField):  # a fragment: its fields are the enclosing object's
            if selects(selection.selections, *path):
                return True
        elif selection.name == name and (not rest or selects(selection.selections, *rest)):
            return True
    return False


_ASKED: dict[tuple[Any, ...], tuple[tuple[Any, ...], bool]] = {}
_MAX_ASKED = 4096


def asks(info: Info[Any, Any], *path: str) -> bool:
    """`selects(info.selected_fields, *path)`, remembered by the field's AST nodes, which alone decide it (the parser
    cache gives every request of a document the same nodes): strawberry builds the selected fields anew at each
    call, a good part of a small page's time."""
    nodes = tuple(info._raw_info.field_nodes)
    key = (*map(id, nodes), *path)
    known = _ASKED.get(key)
    if known is not None and all(a is b for a, b in zip(known[0], nodes, strict=True)):
        return known[1]
    answer = selects(info.selected_fields, *path)
    if len(_ASKED) >= _MAX_ASKED:
        _ASKED.clear()
    _ASKED[key] = (nodes, answer)  # the nodes are kept so that their ids stay theirs
    return answer
