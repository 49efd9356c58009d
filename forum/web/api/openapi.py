"""The OpenAPI 3.1 document of /api/v1, generated from the endpoints' declarations.

Every schema in it comes from a pydantic model (`forum.schemas`), through
`models_json_schema(..., ref_template="#/components/schemas/{model}")`: request bodies in
validation mode, responses in serialization mode, path and query models as parameters. What is
written by hand here is only what is not a data shape: the security schemes, the CSRF header,
the error statuses' words. Declaring an endpoint is described in `forum.web.api.base`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from forum.schemas.base import Input, Output
from forum.schemas.errors import Error
from forum.web.api.base import UNSAFE, Endpoint

VERSION = "1.0.0"
ERROR_CODES = (400, 401, 403, 404, 409, 413, 429)
_ERROR_TEXT = {
    400: "The input is invalid; `fields` says which field and why.",
    401: "Not signed in, or the bearer token is not valid.",
    403: "Not allowed; also a cookie-session request without its X-CSRF-Token header.",
    404: "Missing, or not readable by the caller: the two are indistinguishable.",
    409: "Conflicts with the current state.",
    413: "The request body is too large.",
    422: "Well-formed but cannot be used, e.g. a text too slow to format; `fields` says which.",
    429: "Too many requests; see the Retry-After header.",
}


REF = "#/components/schemas/{model}"


def ref(name: str) -> dict[str, Any]:
    return {"$ref": REF.format(model=name)}


CSRF_HEADER: dict[str, Any] = {
    "name": "X-CSRF-Token",
    "in": "header",
    "required": False,
    "description": "Required with cookie sessions on unsafe methods: the `data-csrf` "
    "attribute of any page's <body>. Not needed with a bearer token.",
    "schema": {"type": "string", "maxLength": 64},
}

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token (`forum create-token HANDLE`). No CSRF header.",
    },
    "cookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "forum_session",
        "description": "The browser session; unsafe methods also need the X-CSRF-Token header.",
    },
}

SIGNED_IN: list[dict[str, list[str]]] = [{"bearer": []}, {"cookie": []}]
ANYONE: list[dict[str, list[str]]] = [{}, {"bearer": []}, {"cookie": []}]


def _parameters(model: type[Input], where: str, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """A path or query model's fields as OpenAPI parameters."""
    schema = model.model_json_schema(ref_template=REF, mode="validation")
    schemas.update(schema.get("$defs", {}))
    required = set(schema.get("required", []))
    out: list[dict[str, Any]] = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        parameter: dict[str, Any] = {
            "name": name,
            "in": where,
            "required": where == "path" or name in required,
        }
        description = prop.pop("description", None)
        prop.pop("title", None)
        # An optional parameter is left out, never sent as null: document the value alone.
        options = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
        if len(options) == 1:
            prop = {**options[0], **prop}
            if prop.get("default", 0) is None:
                del prop["default"]
        description = description or prop.pop("description", None)
        if description:
            parameter["description"] = description
        parameter["schema"] = prop
        out.append(parameter)
    return out


def _content(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": dict(schema)}}


def operation(
    endpoint: Endpoint, schemas: dict[str, Any], refs: Mapping[Any, Any]
) -> dict[str, Any]:
    """The Operation object of one declared endpoint; `refs` maps (model, mode) to its schema."""
    responses: dict[str, Any] = {}
    success: dict[int, type[Output] | None] = {endpoint.status: endpoint.response}
    success.update(endpoint.also)
    for code, model in sorted(success.items()):
        if model is None:
            responses[str(code)] = {"description": "Done."}
        else:
            responses[str(code)] = {
                "description": "Success.",
                "content": _content(refs[(model, "serialization")]),
            }
    for code in sorted(set(endpoint.errors)):
        responses[str(code)] = {"$ref": f"#/components/responses/E{code}"}
    responses["default"] = {"$ref": "#/components/responses/Error"}
    out: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": endpoint.handler.__name__,
        "tags": [endpoint.tag],
        "security": SIGNED_IN if endpoint.signed_in else ANYONE,
        "responses": responses,
    }
    if endpoint.description:
        out["description"] = endpoint.description
    parameters: list[dict[str, Any]] = []
    if endpoint.params is not None:
        parameters += _parameters(endpoint.params, "path", schemas)
    if endpoint.query is not None:
        parameters += _parameters(endpoint.query, "query", schemas)
    if endpoint.method in UNSAFE:
        parameters.append({"$ref": "#/components/parameters/CsrfToken"})
    if parameters:
        out["parameters"] = parameters
    if endpoint.body is not None:
        out["requestBody"] = {
            "required": endpoint.body_required,
            "content": _content(refs[(endpoint.body, "validation")]),
        }
    return out


def _error_responses() -> dict[str, Any]:
    content = {"application/json": {"schema": ref("Error")}}
    out: dict[str, Any] = {
        f"E{code}": {"description": text, "content": content} for code, text in _ERROR_TEXT.items()
    }
    out["E429"]["headers"] = {
        "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
    }
    out["Error"] = {"description": "Any other error, in the same shape.", "content": content}
    return out


INFO_DESCRIPTION = """\
The forum's JSON API. Every page's data is reachable here, through the same services and rules.

Authenticate with `Authorization: Bearer TOKEN` (a personal token from `forum create-token`)
or with the browser's session cookie; cookie sessions must send the page's CSRF token
(`data-csrf` on `<body>`) as `X-CSRF-Token` on POST, PATCH and DELETE.

Errors are `{"error": {"code", "message", "fields"?}}` with the matching status. Whatever the
caller may not read answers 404 exactly as a missing id does.
"""


def _check(endpoint: Endpoint) -> None:
    """A route's `{name}` parts are exactly its path model's fields."""
    named = set(re.findall(r"{(\w+)}", endpoint.path))
    declared = set(endpoint.params.model_fields) if endpoint.params is not None else set()
    if named != declared:
        raise ValueError(
            f"{endpoint.path}: path model fields {sorted(declared)} != {sorted(named)}"
        )


def document(endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    """The whole document, generated from the endpoints' models."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Error, "serialization")]
    for endpoint in endpoints:
        _check(endpoint)
        if endpoint.body is not None:
            models.append((endpoint.body, "validation"))
        for model in (endpoint.response, *endpoint.also.values()):
            if model is not None:
                models.append((model, "serialization"))
    refs, top = models_json_schema(list(dict.fromkeys(models)), ref_template=REF)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for endpoint in endpoints:
        operation_id = endpoint.handler.__name__
        if operation_id in seen:
            raise ValueError(f"two API handlers are named {operation_id!r}")
        seen.add(operation_id)
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation(
            endpoint, schemas, refs
        )
    return {
        "openapi": "3.1.0",
        "info": {"title": "forum API", "version": VERSION, "description": INFO_DESCRIPTION},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "parameters": {"CsrfToken": CSRF_HEADER},
            "responses": _error_responses(),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }
