"""Input declared once: the JSON API and the HTML forms validate with the same models and the same
limits (`forum.limits`), the forms' `maxlength` says the same number, and /api/v1/openapi.json is
generated from the models the routes declare."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from starlette.applications import Starlette

from forum import limits
from forum.app import create_app
from forum.models import Post
from forum.schemas.accounts import ChangeEmail, ForgotPassword, Login, NewPassword, Profile, SignUp
from forum.schemas.base import Input, Output
from forum.schemas.tokens import NewToken, TokenForm
from forum.services import accounts, channels
from forum.settings import Settings
from forum.web import api
from forum.web.api.openapi import REF
from tests.conftest import PASSWORD, make_client, make_member, post_form, signed_in

API = "/api/v1"
API_DIR = Path(api.__file__).resolve().parent


# ---- the document is the models' ---------------------------------------------------------------


def _component(model: type[BaseModel], mode: Any) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, mode=mode)
    schema.pop("$defs", None)
    return schema


def test_every_declared_route_is_documented_with_its_models_schemas() -> None:
    doc = api.document()
    schemas = doc["components"]["schemas"]
    assert api.endpoints(), "the API declares its routes"
    for e in api.endpoints():
        operation = doc["paths"][e.path][e.method.lower()]
        assert operation["operationId"] == e.handler.__name__
        if e.body is not None:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body == {"$ref": REF.format(model=e.body.__name__)}, e.path
            assert schemas[e.body.__name__] == _component(e.body, "validation"), e.body
        else:
            assert "requestBody" not in operation, e.path
        if e.response is not None:
            answer = operation["responses"][str(e.status)]["content"]["application/json"]
            assert answer["schema"] == {"$ref": REF.format(model=e.response.__name__)}
            assert schemas[e.response.__name__] == _component(e.response, "serialization")
        else:
            assert "content" not in operation["responses"][str(e.status)], e.path
        named = [p["name"] for p in operation.get("parameters", []) if "name" in p]
        declared = [
            *(e.params.model_fields if e.params else []),
            *(e.query.model_fields if e.query else []),
        ]
        assert named == declared, e.path
        # Each path parameter is exactly a `{name}` of the route.
        assert set(re.findall(r"{(\w+)}", e.path)) == set(e.params.model_fields if e.params else [])


def _models(base: type[BaseModel]) -> set[str]:
    found: set[str] = set()
    todo = [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub.__name__)
            todo.append(sub)
    return found


def test_no_hand_written_schema_remains() -> None:
    doc = api.document()
    # Every object the document describes is one of the input or output models.
    assert set(doc["components"]["schemas"]) <= _models(Input) | _models(Output)
    # The endpoint modules hold no JSON Schema of their own, and openapi.py builds no object.
    for path in API_DIR.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert '"properties":' not in source and '"type": "object"' not in source, path.name
        if path.name != "openapi.py":
            assert '"type":' not in source and "SCHEMAS" not in source, path.name


def test_a_declared_path_must_match_its_route() -> None:
    from forum.schemas.threads import PostPath
    from forum.web.api.base import Endpoint
    from forum.web.api.openapi import document

    async def handler(request: Any) -> Any:
        raise AssertionError

    wrong = Endpoint("GET", "/threads/{thread_id}", handler, "Wrong", tag="x", params=PostPath)
    with pytest.raises(ValueError, match="path model"):
        document([wrong])


# ---- one limit, every surface ------------------------------------------------------------------


@dataclass
class Surface:
    """One limited field as a member meets it on a page and as a script meets it in the API."""

    field: str
    limit: int
    page: str  # the page with the form
    form_action: str
    form_extra: dict[str, str]
    api_path: str
    api_extra: dict[str, Any]
    accepted_form: int  # the status of a form that was accepted
    accepted_api: int


Setup = Callable[[Starlette], Awaitable[tuple[httpx.AsyncClient, httpx.AsyncClient, Surface]]]


async def _api_client(app: Starlette, handle: str, role: str = "member") -> httpx.AsyncClient:
    from tests.conftest import make_client

    member = await make_member(handle, role)
    client = make_client(app)
    secret = await accounts.create_api_token(member, "t", scopes=("read", "write", "admin"))
    client.headers["authorization"] = f"Bearer {secret}"
    return client


async def _thread(page: httpx.AsyncClient) -> tuple[int, int]:
    made = await post_form(page, "/c/general/threads", {"title": "Limits", "body": "opening"})
    assert made.status_code == 303, made.text
    tid = int(made.headers["location"].rsplit("/", 1)[1])
    post = await Post.get(thread_id=tid)
    return tid, post.id


async def title_case(app: Starlette) -> tuple[httpx.AsyncClient, httpx.AsyncClient, Surface]:
    page, script = await signed_in(app, "amara"), await _api_client(app, "bo")
    surface = Surface(
        "title", limits.MAX_TITLE, "/c/general/new", "/c/general/threads", {"body": "b"},
        f"{API}/channels/general/threads", {"body": "b"}, 303, 201,
    )  # fmt: skip
    return page, script, surface


async def body_case(app: Starlette) -> tuple[httpx.AsyncClient, httpx.AsyncClient, Surface]:
    page, script = await signed_in(app, "amara"), await _api_client(app, "bo")
    tid, _ = await _thread(page)
    surface = Surface(
        "body", limits.MAX_BODY, f"/t/{tid}/reply", f"/t/{tid}/posts", {},
        f"{API}/threads/{tid}/posts", {}, 303, 201,
    )  # fmt: skip
    return page, script, surface


async def reason_case(app: Starlette) -> tuple[httpx.AsyncClient, httpx.AsyncClient, Surface]:
    page = await signed_in(app, "fran", "facilitator")
    script = await _api_client(app, "gus", "facilitator")
    _, first = await _thread(page)
    _, second = await _thread(page)
    surface = Surface(
        "reason", limits.MAX_REASON, f"/p/{first}/moderate", f"/p/{first}/hide", {},
        f"{API}/posts/{second}/hide", {}, 303, 200,
    )  # fmt: skip
    return page, script, surface


async def note_case(app: Starlette) -> tuple[httpx.AsyncClient, httpx.AsyncClient, Surface]:
    author = await signed_in(app, "amara")
    page, script = await signed_in(app, "bo"), await _api_client(app, "cy")
    _, pid = await _thread(author)
    surface = Surface(
        "note", limits.MAX_NOTE, f"/p/{pid}/flag", f"/p/{pid}/flag", {"reason": "other"},
        f"{API}/posts/{pid}/flags", {"reason": "other"}, 303, 201,
    )  # fmt: skip
    return page, script, surface


async def caucus_name_case(app: Starlette) -> tuple[httpx.AsyncClient, httpx.AsyncClient, Surface]:
    page, script = await signed_in(app, "amara"), await _api_client(app, "bo")
    surface = Surface(
        "name", limits.MAX_NAME, "/caucuses", "/caucuses", {"listed": "1"},
        f"{API}/caucuses", {}, 303, 201,
    )  # fmt: skip
    return page, script, surface


CASES: dict[str, Setup] = {
    "thread title": title_case,
    "post body": body_case,
    "moderation reason": reason_case,
    "flag note": note_case,
    "caucus name": caucus_name_case,
}


def _maxlength(html: str, field: str) -> int:
    tags = re.findall(r"<(?:input|textarea)\b[^>]*>", html)
    [tag] = [t for t in tags if f'name="{field}"' in t]
    found = re.search(r'maxlength="(\d+)"', tag)
    assert found, tag
    return int(found.group(1))


@pytest.mark.parametrize("case", list(CASES))
async def test_a_limit_is_the_same_on_the_page_in_the_form_and_in_the_api(
    app: Starlette, case: str
) -> None:
    await channels.create_channel(None, "General", "general")
    page, script, s = await CASES[case](app)
    limit = s.limit
    words = f"at most {limit:,} characters"

    # The form says the limit.
    form_page = await page.get(s.page)
    assert form_page.status_code == 200, form_page.text
    assert _maxlength(form_page.text, s.field) == limit
    # So does the document.
    doc = api.document()
    [endpoint] = [e for e in api.endpoints() if e.method == "POST" and _matches(e.path, s)]
    assert endpoint.body is not None
    schema = doc["components"]["schemas"][endpoint.body.__name__]
    assert schema["properties"][s.field]["maxLength"] == limit

    # One character more: refused by both, each naming the field; the page keeps the text.
    too_long = "w" * (limit + 1)
    refused = await post_form(page, s.form_action, {**s.form_extra, s.field: too_long}, s.page)
    assert refused.status_code == 400, refused.text[:300]
    assert words in refused.text
    assert too_long in refused.text
    answer = await script.post(s.api_path, json={**s.api_extra, s.field: too_long})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert set(error) == {"code", "message", "fields"} and error["code"] == "invalid"
    assert words in error["fields"][s.field]

    # The longest allowed: accepted by both.
    longest = "a" * limit
    accepted = await post_form(page, s.form_action, {**s.form_extra, s.field: longest}, s.page)
    assert accepted.status_code == s.accepted_form, accepted.text[:300]
    longest_api = "b" * limit
    answer = await script.post(s.api_path, json={**s.api_extra, s.field: longest_api})
    assert answer.status_code == s.accepted_api, answer.text[:300]


def _matches(template: str, s: Surface) -> bool:
    pattern = re.sub(r"\{\w+\}", r"[^/]+", template)
    return re.fullmatch(API + pattern, s.api_path) is not None


# ---- errors keep their shape ---------------------------------------------------------------------


async def test_query_and_body_errors_are_sentences_per_field(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    script = await _api_client(app, "bo")
    page = await script.get(f"{API}/search", params={"q": "x", "page": "0"})
    assert page.status_code == 400
    assert page.json()["error"]["fields"] == {
        "page": f"A whole number from 1 to {limits.MAX_PAGE}."
    }
    several = await script.post(
        f"{API}/channels/general/threads", json={"title": 7, "body": None, "key": "a b"}
    )
    assert several.status_code == 400
    fields = several.json()["error"]["fields"]
    assert set(fields) == {"title", "body", "key"}
    assert all(isinstance(v, str) and v.endswith(".") for v in fields.values())
    not_object = await script.post(f"{API}/channels/general/threads", json=[1, 2])
    assert not_object.status_code == 400
    assert not_object.json()["error"]["message"] == "Send a JSON object."


async def test_a_handle_longer_than_any_names_no_one_rather_than_failing(app: Starlette) -> None:
    """Handles have at most 32 characters; "@" and 32 fit the fields, 33 letters name no one
    (the lookups used to pass them to a 32-character column: a 500)."""
    script = await _api_client(app, "fran", "facilitator")
    made = await script.post(f"{API}/caucuses", json={"name": "Tenants"})
    assert made.status_code == 201, made.text
    slug = made.json()["slug"]
    long_handle = "x" * (limits.MAX_HANDLE + 1)
    invite = await script.post(f"{API}/caucuses/{slug}/invite", json={"handle": long_handle})
    assert invite.status_code == 400 and "handle" in invite.json()["error"]["fields"]
    warn = await script.post(f"{API}/members/{long_handle}/warn", json={"reason": "why"})
    assert warn.status_code == 404
    too_long = await script.post(f"{API}/caucuses/{slug}/invite", json={"handle": "y" * 40})
    assert too_long.status_code == 400
    assert "at most 33 characters" in too_long.json()["error"]["fields"]["handle"]


# ---- the account forms: one model each, the services' limits -----------------------------------


@dataclass
class AccountField:
    """A limited field of a sign-in, sign-up, account or token form."""

    page: str
    action: str
    field: str
    limit: int
    model: type[Input]
    extra: dict[str, str]
    signed_in: bool
    kept: bool = True  # a password is never shown again


ACCOUNT_FIELDS: dict[str, AccountField] = {
    "sign-up handle": AccountField(
        "/signup", "/signup", "handle", limits.MAX_HANDLE, SignUp,
        {"password": PASSWORD, "email": "newbie@example.org"}, False,
    ),
    "sign-up name": AccountField(
        "/signup", "/signup", "display_name", limits.MAX_DISPLAY_NAME, SignUp,
        {"handle": "newbie", "password": PASSWORD, "email": "newbie@example.org"}, False,
    ),
    "sign-up email": AccountField(
        "/signup", "/signup", "email", limits.MAX_EMAIL, SignUp,
        {"handle": "newbie", "password": PASSWORD}, False,
    ),
    "sign-up password": AccountField(
        "/signup", "/signup", "password", limits.MAX_PASSWORD, SignUp,
        {"handle": "newbie", "email": "newbie@example.org"}, False, kept=False,
    ),
    "sign-in handle": AccountField(
        "/login", "/login", "handle", limits.MAX_HANDLE_INPUT, Login, {"password": PASSWORD}, False
    ),
    "sign-in password": AccountField(
        "/login", "/login", "password", limits.MAX_PASSWORD, Login, {"handle": "amara"}, False,
        kept=False,
    ),
    "display name": AccountField(
        "/account", "/account/profile", "display_name", limits.MAX_DISPLAY_NAME, Profile, {}, True
    ),
    "current password": AccountField(
        "/account", "/account/password", "current", limits.MAX_PASSWORD, NewPassword,
        {"new": "another long password", "confirm": "another long password"}, True, kept=False,
    ),
    "new password": AccountField(
        "/account", "/account/password", "new", limits.MAX_PASSWORD, NewPassword,
        {"current": PASSWORD}, True, kept=False,
    ),
    "new email": AccountField(
        "/account", "/account/email", "email", limits.MAX_EMAIL, ChangeEmail,
        {"password": PASSWORD}, True,
    ),
    "email change password": AccountField(
        "/account", "/account/email", "password", limits.MAX_PASSWORD, ChangeEmail,
        {"email": "new@example.org"}, True, kept=False,
    ),
    "forgot address": AccountField(
        "/forgot", "/forgot", "address", limits.MAX_EMAIL, ForgotPassword, {}, False
    ),
    "token name": AccountField(
        "/account/tokens", "/account/tokens", "name", limits.MAX_TOKEN_NAME, TokenForm, {}, True
    ),
}  # fmt: skip


def _max_length(model: type[Input], field: str) -> int:
    schema = model.model_json_schema()["properties"][field]
    return int(schema["maxLength"])


@pytest.mark.parametrize("case", list(ACCOUNT_FIELDS))
async def test_an_account_form_limit_is_the_page_s_the_model_s_and_the_service_s(
    settings: Settings, case: str
) -> None:
    f = ACCOUNT_FIELDS[case]
    app = create_app(settings.with_(signup="open"))
    async with app.router.lifespan_context(app):
        await make_member("amara")
        client = await signed_in(app, "bo") if f.signed_in else make_client(app)
        try:
            # The page says the limit, and so does the model the handler validates with.
            page = await client.get(f.page)
            assert page.status_code == 200, page.text[:300]
            assert _maxlength(page.text, f.field) == f.limit == _max_length(f.model, f.field)

            # One character more: refused beside the field, the text kept (never a password).
            too_long = "w" * (f.limit + 1)
            refused = await post_form(client, f.action, {**f.extra, f.field: too_long}, f.page)
            assert refused.status_code == 400, refused.text[:300]
            assert f'id="e-{f.field}"' in refused.text
            assert (too_long in refused.text) is f.kept
            if f.field not in ("handle",):  # a sign-up handle's words are the service's
                assert f"at most {f.limit:,} characters" in refused.text

            # The longest allowed passes the model (the service may still say no, for its own
            # reasons: a wrong password, an unknown handle).
            longest = ("a" * f.limit) if f.field != "new" else "n" * f.limit
            data = {**f.extra, f.field: longest}
            if f.field == "new":
                data["confirm"] = longest
            accepted = await post_form(client, f.action, data, f.page)
            assert accepted.status_code in (200, 303, 400), accepted.text[:300]
            assert f"at most {f.limit:,} characters" not in accepted.text
        finally:
            await client.aclose()


async def test_sign_up_names_every_fault_at_once_and_keeps_the_name(settings: Settings) -> None:
    """A handle over the size limit is refused by the model before the service looks; the
    service's own rules (a short password) are still named beside their fields."""
    app = create_app(settings.with_(signup="open"))
    async with app.router.lifespan_context(app), make_client(app) as client:
        refused = await post_form(
            client,
            "/signup",
            {
                "handle": "h" * 40,
                "display_name": "n" * (limits.MAX_DISPLAY_NAME + 1),
                "password": "x",
            },
            "/signup",
        )
        assert refused.status_code == 400
        for field in ("handle", "display_name", "password"):
            assert f'id="e-{field}"' in refused.text, field
        assert f"Use at least {limits.MIN_PASSWORD} characters." in refused.text
        assert "n" * (limits.MAX_DISPLAY_NAME + 1) in refused.text


async def test_the_token_page_and_the_api_agree_on_name_and_days(app: Starlette) -> None:
    page = await signed_in(app, "amara")
    script = await _api_client(app, "bo")
    form = await page.get("/account/tokens")
    assert _maxlength(form.text, "name") == limits.MAX_TOKEN_NAME
    assert _max_length(NewToken, "name") == _max_length(TokenForm, "name") == limits.MAX_TOKEN_NAME
    [days] = [t for t in re.findall(r"<input\b[^>]*>", form.text) if 'name="expires_days"' in t]
    assert f'max="{limits.MAX_TOKEN_DAYS}"' in days and 'min="1"' in days

    # A day past the limit: the page keeps what was typed and says why beside the field...
    over = str(limits.MAX_TOKEN_DAYS + 1)
    refused = await post_form(
        page, "/account/tokens", {"name": "kept name", "expires_days": over}, "/account/tokens"
    )
    assert refused.status_code == 400
    assert 'id="e-expires_days"' in refused.text and f'value="{over}"' in refused.text
    assert 'value="kept name"' in refused.text
    assert f"from 1 to {limits.MAX_TOKEN_DAYS:,}" in refused.text
    # ...and so does the API.
    answer = await script.post(f"{API}/tokens", json={"name": "x", "expires_days": int(over)})
    assert answer.status_code == 400 and "expires_days" in answer.json()["error"]["fields"]
    not_number = await post_form(
        page, "/account/tokens", {"name": "n", "expires_days": "soon"}, "/account/tokens"
    )
    assert not_number.status_code == 400 and 'value="soon"' in not_number.text
    # The limit itself and the write box: accepted, with the scopes ticked.
    made = await post_form(
        page,
        "/account/tokens",
        {"name": "cron", "expires_days": f" {limits.MAX_TOKEN_DAYS} ", "scope_write": "1"},
        "/account/tokens",
    )
    assert made.status_code == 200 and 'id="new-token"' in made.text
    listed = (await page.get(f"{API}/tokens")).json()["tokens"]
    [cron] = [t for t in listed if t["name"] == "cron"]
    assert cron["scopes"] == ["read", "write"] and cron["expires_at"] is not None


# ---- page queries: the API's query models --------------------------------------------------------


async def test_thread_and_channel_page_queries_are_read_like_the_api_s(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    page = await signed_in(app, "amara")
    tid, pid = await _thread(page)

    # Values the API refuses: a 400 page naming what is wrong, never a 500.
    for path, words in (
        (f"/t/{tid}?after=NOT-A-CURSOR", "Use the `next` value of the previous page."),
        (f"/t/{tid}?after={'z' * (limits.MAX_CURSOR + 1)}", "Use at most"),
        (f"/t/{tid}?focus=first", "This field must be a whole number."),
        (f"/t/{tid}?focus={limits.MAX_ID + 1}", f"A whole number from 1 to {limits.MAX_ID}."),
        (f"/t/{tid}/p/{pid}?after=%00", "Use the `next` value of the previous page."),
        (f"/t/{tid}/reply?to=x", "This field must be a whole number."),
        ("/c/general?page=0", f"A whole number from 1 to {limits.MAX_PAGE}."),
        ("/c/general?page=two", "This field must be a whole number."),
        (f"/c/general?page={limits.MAX_PAGE + 1}", f"A whole number from 1 to {limits.MAX_PAGE}."),
    ):
        answer = await page.get(path)
        assert answer.status_code == 400, (path, answer.text[:300])
        assert html.escape(words, quote=False) in answer.text, path
    # Ids that cannot name anything: not found.
    for path in (
        f"/t/{limits.MAX_ID + 1}",
        "/t/99999999999999999999",
        f"/t/{tid}/p/{limits.MAX_ID + 1}",
        f"/t/{tid}?focus={limits.MAX_ID}",
        f"/t/{tid}/reply?to={limits.MAX_ID}",
        f"/p/{limits.MAX_ID + 1}/edit",
    ):
        answer = await page.get(path)
        assert answer.status_code == 404, (path, answer.text[:300])
    # Good values work as before; `focus` shows the branch, as in the API.
    for path in (f"/t/{tid}?after=", f"/t/{tid}?after=0", "/c/general?page=2", f"/t/{tid}/p/{pid}"):
        answer = await page.get(path)
        assert answer.status_code == 200, (path, answer.text[:300])
    branch = await page.get(f"/t/{tid}?focus={pid}")
    assert branch.status_code == 200 and "Back to the whole thread" in branch.text
