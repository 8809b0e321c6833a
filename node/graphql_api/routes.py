"""POST/GET /graphql: bounded before parsing (body, tokens, depth), then graphql-core executes."""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING

from aiohttp import web
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    IntValueNode,
    StringValueNode,
    build_schema,
    execute,
    parse,
    validate,
)

from node.graphql_api.resolvers import Api, QueryError, Root

if TYPE_CHECKING:
    from node.service import Node

MAX_BODY_BYTES = 64 * 1024
MAX_TOKENS = 2_000
MAX_DEPTH = 10
SCHEMA_TEXT = (resources.files("node.graphql_api") / "schema.graphql").read_text()


def _long(value: object) -> int:
    """EIP-1767 Long: a JSON number, or (as geth accepts) a 0x hex string."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.startswith("0x") and 2 < len(value) <= 18:
        try:
            number = int(value, 16)
        except ValueError:
            raise GraphQLError(f"Long: {value!r} is not hex") from None
    else:
        raise GraphQLError(f"Long must be an integer or 0x hex, not {value!r}")
    if not 0 <= number < 2**63:
        raise GraphQLError("Long must be in 0..2^63-1")
    return number


def _long_literal(node: object, variables: object = None) -> int:
    if isinstance(node, IntValueNode | StringValueNode):
        return _long(int(node.value) if isinstance(node, IntValueNode) else node.value)
    raise GraphQLError("Long must be an integer or 0x hex string literal")


def build() -> GraphQLSchema:
    schema = build_schema(SCHEMA_TEXT)
    long_type = schema.type_map["Long"]
    long_type.parse_value = _long  # type: ignore[attr-defined]
    long_type.parse_literal = _long_literal  # type: ignore[attr-defined]
    return schema


def depth(document: DocumentNode) -> int:
    """Deepest field nesting over all operations and fragments (iterative)."""
    deepest = 0
    stack = [(d.selection_set, 1) for d in document.definitions if getattr(d, "selection_set", None)]
    while stack:
        selection_set, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        for selection in selection_set.selections:
            child = getattr(selection, "selection_set", None)
            if child is not None:
                stack.append((child, level + 1 if isinstance(selection, FieldNode) else level))
    return deepest


def run(schema: GraphQLSchema, root: Root, body: object) -> tuple[int, dict]:
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return 400, {"errors": [{"message": 'send {"query": "...", "variables": {...}}'}]}
    variables = body.get("variables")
    if variables is not None and not isinstance(variables, dict):
        return 400, {"errors": [{"message": "variables must be an object"}]}
    operation = body.get("operationName")
    try:
        document = parse(body["query"], max_tokens=MAX_TOKENS, no_location=False)
    except GraphQLError as error:
        return 400, {"errors": [error.formatted]}
    if depth(document) > MAX_DEPTH:
        return 400, {"errors": [{"message": f"query nests deeper than {MAX_DEPTH} fields"}]}
    problems = validate(schema, document)
    if problems:
        return 400, {"errors": [p.formatted for p in problems]}
    result = execute(schema, document, root, variable_values=variables,
                     operation_name=operation if isinstance(operation, str) else None)  # fmt: skip
    payload: dict = {"data": result.data}
    if result.errors:
        payload["errors"] = [_public(e) for e in result.errors]
    return 200, payload


def _public(error: GraphQLError) -> dict:
    """A resolver's QueryError or GraphQLError text is for the client; anything else is a bug."""
    formatted = error.formatted
    if error.original_error is not None and not isinstance(error.original_error, QueryError | GraphQLError):
        formatted["message"] = "internal error; see the node log"
    return formatted


def install(app: web.Application, node: Node, table: dict) -> None:
    schema, root = build(), Root(Api(table))

    async def handler(request: web.Request) -> web.Response:
        if request.method == "GET":
            body: object = {"query": request.query.get("query"), "operationName": request.query.get("operationName")}
            if "variables" in request.query:
                try:
                    body["variables"] = json.loads(request.query["variables"])  # type: ignore[index]
                except ValueError:
                    return web.json_response({"errors": [{"message": "variables must be JSON"}]}, status=400)
        else:
            if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
                return web.json_response({"errors": [{"message": f"body over {MAX_BODY_BYTES} bytes"}]}, status=413)
            raw = await request.content.read(MAX_BODY_BYTES + 1)
            if len(raw) > MAX_BODY_BYTES:
                return web.json_response({"errors": [{"message": f"body over {MAX_BODY_BYTES} bytes"}]}, status=413)
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                return web.json_response({"errors": [{"message": "the body is not JSON"}]}, status=400)
        status, payload = run(schema, root, body)
        return web.json_response(payload, status=status)

    app.router.add_route("GET", "/graphql", handler)
    app.router.add_route("POST", "/graphql", handler)
