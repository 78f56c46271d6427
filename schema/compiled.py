"""Plain selections compiled to Python functions: an object whose every selected field is plain, completed in one call.

The execution context (execution.py) completes plain fields without graphql-core's machinery, but still one by one,
through a loop over plans; on a page of 100 records of a dozen fields each that loop is most of the execution. A
selection of plain fields only is therefore compiled once into a function that reads each attribute, checks it and
builds the result dict in straight-line code; an object (or a list of objects) it holds continues in the function of
its own selection, through the execution context.

A compiled function never reports an error: whatever its checks do not expect (a null in a non-null position, a value
of an unexpected type, a scalar that does not serialise, an exception) makes it return SLOW, and the execution context
completes the object again the general way, which locates the error exactly as graphql-core does. Reading plain
attributes twice is harmless: they are values, not resolvers.

Functions are kept per schema and keyed by the selection's AST nodes (the parser cache gives every request of the same
document the same nodes), so a query is compiled once, not once per request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from graphql import GraphQLObjectType
from graphql.execution.collect_fields import FieldDetailsList

from schema.field_plans import MAX_INT, MIN_INT, SLOW, Composite, Leaf, Plan, TypeName

Step = tuple[str, FieldDetailsList, Plan | None]
# (execution context, source object, the details of each composite field in order) -> the result dict, or SLOW.
Compiled = Callable[[Any, Any, Sequence[FieldDetailsList]], Any]

_MAX_FUNCTIONS = 2048  # a bound on memory: distinct selections of the documents the parser cache holds


class CompiledSelections:
    """The compiled functions of one schema's selections."""

    def __init__(self) -> None:
        # key -> (the selection's nodes, kept so that their ids stay theirs; the function or None: not compilable)
        self._known: dict[tuple[Any, ...], tuple[list[Any], Compiled | None]] = {}

    def function(self, parent_type: GraphQLObjectType, steps: Sequence[Step]) -> Compiled | None:
        nodes = [details.node for _, field_details, _ in steps for details in field_details]
        key = (parent_type.name, *(name for name, _, _ in steps), *map(id, nodes))
        known = self._known.get(key)
        if known is not None and all(a is b for a, b in zip(known[0], nodes, strict=True)):
            return known[1]
        if len(self._known) >= _MAX_FUNCTIONS:
            self._known.clear()
        function = compile_selection(parent_type, steps)
        self._known[key] = (nodes, function)
        return function


def compile_selection(parent_type: GraphQLObjectType, steps: Sequence[Step]) -> Compiled | None:
    """The function completing the selection, or None when a field of it has no plan (is not plain)."""
    constants: dict[str, Any] = {"SLOW": SLOW, "MIN_INT": MIN_INT, "MAX_INT": MAX_INT}
    body: list[str] = []
    composites = 0
    for index, (name, _, plan) in enumerate(steps):
        if plan is None:  # a field only graphql-core may execute (a resolver, a directive)
            return None
        key = f"K{index}"
        constants[key] = name
        if isinstance(plan, TypeName):
            constants[f"T{index}"] = parent_type.name
            body.append(f"r[{key}] = T{index}")
            continue
        if not plan.attribute.isidentifier():
            return None
        body.append(f"v = s.{plan.attribute}")
        if isinstance(plan, Leaf):
            constants[f"C{index}"] = plan.convert
            body += _leaf_lines(plan, key, f"C{index}")
        elif isinstance(plan, Composite):
            constants[f"N{index}"] = plan.shape.named
            body += _composite_lines(plan, key, f"N{index}", composites)
            composites += 1
    source = "def complete(ctx, s, D):\n    try:\n        obj = ctx.compiled_object\n        r = {}\n"
    source += "".join(f"        {line}\n" for line in body)
    source += "        return r\n    except Exception:\n        return SLOW\n"
    exec(compile(source, f"<compiled selection of {parent_type.name}>", "exec"), constants)
    function: Compiled = constants["complete"]
    return function


def _leaf_lines(plan: Leaf, key: str, converter: str) -> list[str]:
    """Exact values (a str for a String, an int in range for an Int) are stored as they are; others are converted."""
    null = f"    r[{key}] = None" if plan.nullable else "    return SLOW"
    convert = ["    v = " + converter + "(v)", "    if v is SLOW:", "        return SLOW", f"    r[{key}] = v"]
    if plan.exact is None:
        return ["if v is None:", null, "else:", *convert]
    check = f"type(v) is {plan.exact.__name__}"
    if plan.exact is int:
        check += " and MIN_INT <= v <= MAX_INT"
    return [f"if {check}:", f"    r[{key}] = v", "elif v is None:", null, "else:", *convert]


def _composite_lines(plan: Composite, key: str, named: str, position: int) -> list[str]:
    shape = plan.shape
    null = f"    r[{key}] = None" if shape.nullable and not plan.linked else "    return SLOW"
    if shape.item_type is None:
        one = [f"    v = obj({named}, D[{position}], v)", "    if v is SLOW:", "        return SLOW"]
        return ["if v is None:", null, "else:", *one, f"    r[{key}] = v"]
    missing = "            out.append(None)\n            continue" if shape.item_nullable else "            return SLOW"
    return [
        "if v is None:",
        null,
        "elif type(v) is list or type(v) is tuple:",
        "    out = []",
        "    for item in v:",
        "        if item is None:",
        *missing.split("\n"),
        f"        item = obj({named}, D[{position}], item)",
        "        if item is SLOW:",
        "            return SLOW",
        "        out.append(item)",
        f"    r[{key}] = out",
        "else:",
        "    return SLOW",
    ]
