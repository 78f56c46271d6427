"""Write the served schema's SDL to schema/schema.graphql: `python -m schema.export`."""

from __future__ import annotations

from pathlib import Path

from schema.schema import schema

SDL_PATH = Path(__file__).with_name("schema.graphql")


def sdl() -> str:
    return str(schema).rstrip("\n") + "\n"


if __name__ == "__main__":
    SDL_PATH.write_text(sdl(), encoding="utf-8")
    print(f"wrote {SDL_PATH}")
