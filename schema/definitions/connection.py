"""What every keyset connection shares: page info built from a resolver's page."""

from __future__ import annotations

from typing import Any

from strawberry import relay

from resolvers.pagination import Page


def page_info(page: Page[Any]) -> relay.PageInfo:
    return relay.PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=False,  # forward-only keyset paging; the Relay spec allows false here
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )
