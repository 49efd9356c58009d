"""The OpenAPI 3.1 document of /api/v1, built as a plain dict.

Shared pieces (object schemas, parameters, error responses, security schemes) live here; each
endpoint module declares its operations next to its handlers with `op(...)`, and `document()`
assembles the whole from the `Endpoint` list, so a route cannot exist without its documentation.

To add endpoints (caucuses, moderation): write handlers in a module of `forum.web.api`, list
them in its `ENDPOINTS` with `op(...)`, put any new object schemas in that module's `SCHEMAS`
dict, and add the module to `MODULES` in `forum/web/api/__init__.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from forum.web.api.base import MAX_CURSOR, MAX_ID, Endpoint

VERSION = "1.0.0"
ERROR_CODES = (400, 401, 403, 404, 409, 413, 429)
_ERROR_TEXT = {
    400: "The input is invalid; `fields` says which field and why.",
    401: "Not signed in, or the bearer token is not valid.",
    403: "Not allowed; also a cookie-session request without its X-CSRF-Token header.",
    404: "Missing, or not readable by the caller: the two are indistinguishable.",
    409: "Conflicts with the current state.",
    413: "The request body is too large.",
    429: "Too many requests; see the Retry-After header.",
}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema or null (OpenAPI 3.1 / JSON Schema)."""
    if "$ref" in schema or "type" not in schema:
        return {"anyOf": [dict(schema), {"type": "null"}]}
    kind = schema["type"]
    kinds = [*kind, "null"] if isinstance(kind, list) else [kind, "null"]
    return {**schema, "type": kinds}


def obj(
    properties: Mapping[str, Any], required: Iterable[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """An object schema; every property is required unless `required` says otherwise."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties if required is None else required),
        **extra,
    }


def array(items: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "array", "items": dict(items), **extra}


STRING = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
WHEN = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, Any] = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": {**STRING, "examples": ["not_found"]},
                    "message": STRING,
                    "fields": {
                        "type": "object",
                        "additionalProperties": STRING,
                        "description": "Field name -> what is wrong with it.",
                    },
                },
                required=["code", "message"],
            )
        }
    ),
    "MemberRef": obj(
        {"handle": STRING, "display_name": STRING},
        description="A member as shown beside their posts.",
    ),
    "Me": obj(
        {
            "id": ID,
            "handle": STRING,
            "display_name": STRING,
            "role": {"type": "string", "enum": ["member", "facilitator", "admin"]},
            "status": {"type": "string", "enum": ["pending", "active", "suspended"]},
            "unread_notifications": INT,
            "created_at": WHEN,
        }
    ),
    "ChannelRef": obj({"slug": STRING, "name": STRING}),
    "Channel": obj(
        {
            "slug": STRING,
            "name": STRING,
            "description": STRING,
            "public": {**BOOL, "description": "Readable without signing in."},
            "archived": BOOL,
            "caucus_id": nullable(INT),
            "thread_count": INT,
        }
    ),
    "Thread": obj(
        {
            "id": ID,
            "title": STRING,
            "channel": nullable(ref("ChannelRef")),
            "author": nullable(ref("MemberRef")),
            "statement_id": nullable(INT),
            "seeded": {**BOOL, "description": "The thread a statement seeds."},
            "pinned": BOOL,
            "locked": BOOL,
            "slow_mode_seconds": INT,
            "post_count": INT,
            "last_post_id": INT,
            "created_at": WHEN,
            "last_activity_at": WHEN,
        }
    ),
    "ThreadRow": {
        "allOf": [
            ref("Thread"),
            obj(
                {
                    "unread": {**BOOL, "description": "Never opened by the caller."},
                    "new_posts": {**BOOL, "description": "Posts since the caller last read."},
                }
            ),
        ]
    },
    "Statement": obj(
        {
            "id": ID,
            "title": STRING,
            "author": STRING,
            "body": {**STRING, "description": "Markdown source."},
            "html": STRING,
            "caption": nullable(STRING),
            "source_url": nullable(STRING),
            "external_id": nullable(STRING),
            "published_at": nullable(WHEN),
            "version": INT,
            "created_at": WHEN,
            "updated_at": WHEN,
        }
    ),
    "Post": obj(
        {
            "id": ID,
            "thread_id": ID,
            "parent_id": nullable(INT),
            "depth": INT,
            "path": {**STRING, "description": "Sorts posts in reading order (tree order)."},
            "author": nullable(ref("MemberRef")),
            "html": {
                **nullable(STRING),
                "description": "Rendered text; null when deleted, or hidden from the caller.",
            },
            "body": {**STRING, "description": "Markdown source; only for those who may edit."},
            "deleted": BOOL,
            "hidden": BOOL,
            "hidden_reason": {
                **nullable(STRING),
                "description": "Why moderators hid it; present for hidden posts.",
            },
            "created_at": WHEN,
            "edited_at": nullable(WHEN),
            "statement_version": nullable(INT),
            "reply_count": INT,
            "url": STRING,
            "continues": {
                **BOOL,
                "description": "Its replies are on the branch page: GET /threads/{id}?focus=ID.",
            },
            "can": obj(
                {"reply": BOOL, "edit": BOOL, "delete": BOOL, "flag": BOOL, "moderate": BOOL},
                description="What the caller may do with it.",
            ),
        },
        required=[
            "id",
            "thread_id",
            "parent_id",
            "depth",
            "path",
            "author",
            "html",
            "deleted",
            "hidden",
            "created_at",
            "edited_at",
            "statement_version",
            "reply_count",
            "url",
            "can",
        ],
    ),
    "Revision": obj({"id": ID, "body": STRING, "created_at": WHEN}),
    "Notification": obj(
        {
            "id": ID,
            "kind": STRING,
            "text": STRING,
            "url": STRING,
            "thread_id": nullable(INT),
            "post_id": nullable(INT),
            "read": BOOL,
            "created_at": WHEN,
        }
    ),
    "SearchHit": obj(
        {
            "post_id": ID,
            "thread_id": ID,
            "thread_title": STRING,
            "channel": ref("ChannelRef"),
            "author_handle": nullable(STRING),
            "created_at": nullable(WHEN),
            "snippet_html": {**STRING, "description": "Escaped text with <mark> around matches."},
            "url": STRING,
        }
    ),
}

PARAMETERS: dict[str, Any] = {
    "ThreadId": {"name": "thread_id", "in": "path", "required": True, "schema": ID, "example": 1},
    "PostId": {"name": "post_id", "in": "path", "required": True, "schema": ID, "example": 1},
    "ChannelSlug": {
        "name": "slug",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,79}$"},
        "example": "general",
    },
    "Page": {
        "name": "page",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 1},
    },
    "CsrfToken": {
        "name": "X-CSRF-Token",
        "in": "header",
        "required": False,
        "description": "Required with cookie sessions on unsafe methods: the `data-csrf` "
        "attribute of any page's <body>. Not needed with a bearer token.",
        "schema": {"type": "string", "maxLength": 64},
    },
}

CURSOR = {"type": "string", "pattern": "^[0-9a-z]*$", "maxLength": MAX_CURSOR}

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


def param(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/parameters/{name}"}


def query(
    name: str, schema: Mapping[str, Any], description: str = "", required: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "in": "query", "required": required, "schema": schema}
    if description:
        out["description"] = description
    return out


def op(
    summary: str,
    *,
    tag: str,
    ok: Mapping[str, Any] | None,
    status: int = 200,
    also: Mapping[int, Mapping[str, Any]] | None = None,
    errors: Sequence[int] = (),
    signed_in: bool = False,
    params: Sequence[Mapping[str, Any]] = (),
    body: Mapping[str, Any] | None = None,
    body_required: bool = True,
    description: str = "",
) -> dict[str, Any]:
    """An Operation object. `ok` is the success schema (None: no content, e.g. 204); `also` adds
    other success statuses with their schemas; `errors` lists the error statuses worth naming
    (every operation also has a `default` error response). `document()` adds the optional
    X-CSRF-Token header to every unsafe operation."""
    responses: dict[str, Any] = {}
    success: dict[int, Mapping[str, Any] | None] = {status: ok, **dict(also or {})}
    for code, schema in sorted(success.items()):
        if schema is None:
            responses[str(code)] = {"description": "Done."}
        else:
            responses[str(code)] = {
                "description": "Success.",
                "content": {"application/json": {"schema": dict(schema)}},
            }
    for code in sorted(set(errors)):
        responses[str(code)] = {"$ref": f"#/components/responses/E{code}"}
    responses["default"] = {"$ref": "#/components/responses/Error"}
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "security": SIGNED_IN if signed_in else ANYONE,
        "responses": responses,
    }
    if description:
        operation["description"] = description
    parameters = list(params)
    if body is not None:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": dict(body)}},
        }
    if parameters:
        operation["parameters"] = parameters
    return operation


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


def document(
    endpoints: Sequence[Endpoint], extra_schemas: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for endpoint in endpoints:
        operation = dict(endpoint.operation)
        operation_id = endpoint.handler.__name__
        if operation_id in seen:
            raise ValueError(f"two API handlers are named {operation_id!r}")
        seen.add(operation_id)
        operation["operationId"] = operation_id
        method = endpoint.method.lower()
        if method in ("post", "put", "patch", "delete"):
            operation["parameters"] = [*operation.get("parameters", []), param("CsrfToken")]
        paths.setdefault(endpoint.path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "forum API", "version": VERSION, "description": INFO_DESCRIPTION},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": {**SCHEMAS, **dict(extra_schemas or {})},
            "parameters": PARAMETERS,
            "responses": _error_responses(),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }
