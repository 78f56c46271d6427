"""The committed SDL file always equals the served schema."""

from __future__ import annotations

from schema.export import SDL_PATH, sdl


def test_committed_sdl_matches_the_served_schema() -> None:
    assert SDL_PATH.read_text(encoding="utf-8") == sdl(), "schema changed: run `python -m schema.export` and commit"


def test_contract_names_are_present() -> None:
    text = sdl()
    for name in (
        "interface Node",
        "type App implements Node",
        "type Sync implements Node",
        "type SyncConnection",
        "enum SyncStatus",
        "enum AppKind",
        "enum DataType",
        "totalCount: Int!",
        "type AppSettings",
    ):
        assert name in text
