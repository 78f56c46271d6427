"""The product schema validates each parsed document once: later requests of the same query text reuse the result."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import schema.schema as product
from resolvers.context import Context


async def test_a_document_is_validated_once_and_its_errors_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    validated: list[Any] = []
    original = product.validate_document  # type: ignore[attr-defined]

    def counting(*args: Any) -> Any:
        validated.append(args[1])
        return original(*args)

    monkeypatch.setattr(product, "validate_document", counting)
    context = Context(pool=None, principal=None)  # type: ignore[arg-type]  # validation fails before any resolver
    unique = uuid.uuid4().hex  # documents no other test has had validated
    bad = f"{{ syncs(first: 5) {{ edges {{ node {{ nope{unique} }} }} }} }}"
    first = await product.schema.execute(bad, context_value=context)
    second = await product.schema.execute(bad, context_value=context)
    assert first.errors and second.errors
    assert [e.message for e in first.errors] == [e.message for e in second.errors]
    assert f"nope{unique}" in first.errors[0].message
    assert len(validated) == 1, "the same document (from the parser cache) is validated once"
    await product.schema.execute(f"{{ t{unique}: __typename }}", context_value=context)
    assert len(validated) == 2, "another document is validated on its own"
