"""The admins' mail page: in development the last messages and their texts, except the texts
that carry someone's personal links; otherwise only the outbox's counts. Admins only."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.applications import Starlette
from tortoise.transactions import in_transaction

from forum.app import create_app
from forum.mail.outbox import enqueue
from forum.models import Member, OutboxMessage
from forum.settings import Settings
from tests.conftest import make_client, signed_in

SECRET = "Zq7reset-token-of-amara"


async def _mail(kind: str, subject: str, text: str, member_id: int | None = None) -> int:
    async with in_transaction() as conn:
        row = await enqueue(
            conn,
            kind=kind,
            to=f"{kind}@example.org",
            subject=subject,
            text=text,
            member_id=member_id,
            domain="forum.test",
        )
    return row.id


async def test_admins_read_plain_mail_but_never_anothers_personal_links(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    amara = await Member.create(
        handle="amara", handle_key="amara", display_name="Amara", password_hash="x"
    )
    ada = await Member.get(handle="ada")
    plain = await _mail("test", "Test message", "This message checks the mail settings.")
    links = {
        kind: await _mail(
            kind, f"About your {kind}", f"Open https://forum.test/{kind}/{SECRET}", amara.id
        )
        for kind in ("reset", "confirm", "email-change", "notify", "some-new-kind")
    }
    own = await _mail(
        "notify", "Your own reply", f"Reply: https://forum.test/u/{SECRET}-ada", ada.id
    )
    await app.state.deliverer.drain()
    await OutboxMessage.filter(id=links["notify"]).update(
        status="failed", attempts=8, last_error="550 mailbox unavailable"
    )

    members_page = await admin.get("/admin/members")
    assert 'href="/admin/mail"' in members_page.text
    page = await admin.get("/admin/mail")
    assert page.status_code == 200
    assert "Test message" in page.text and "About your reset" in page.text
    assert "550 mailbox unavailable" in page.text and ">8<" in page.text
    assert page.text.count("(link withheld)") == 5
    assert SECRET not in page.text

    shown = await admin.get(f"/admin/mail/{plain}")
    assert shown.status_code == 200
    assert "This message checks the mail settings." in shown.text
    for kind, ident in links.items():
        withheld = await admin.get(f"/admin/mail/{ident}")
        assert withheld.status_code == 200, kind
        assert "Link withheld" in withheld.text and SECRET not in withheld.text, kind
        assert f"About your {kind}" in withheld.text  # who and what, never the link
    mine = await admin.get(f"/admin/mail/{own}")
    assert f"{SECRET}-ada" in mine.text  # an admin's own message is theirs to read
    for bad in ("/admin/mail/999999", "/admin/mail/abc", "/admin/mail/-1"):
        assert (await admin.get(bad)).status_code == 404, bad
    await admin.aclose()


async def test_the_mail_page_is_for_admins_only(app: Starlette) -> None:
    ident = await _mail("test", "Test message", "Body.")
    for role in ("member", "facilitator"):
        client = await signed_in(app, f"a{role}", role)
        for path in ("/admin/mail", f"/admin/mail/{ident}"):
            response = await client.get(path)
            assert response.status_code == 403, (role, path)
            assert "Test message" not in response.text
        assert 'href="/admin/mail"' not in (await client.get("/")).text
        await client.aclose()
    async with make_client(app) as anonymous:
        response = await anonymous.get("/admin/mail")
        assert response.status_code in (303, 401) and "Test message" not in response.text


async def test_without_the_file_transport_the_page_shows_only_counts(settings: Settings) -> None:
    app = create_app(settings.with_(email_url="smtp://mail.example.org:587"))
    async with app.router.lifespan_context(app):
        admin = await signed_in(app, "ada", "admin")
        ident = await _mail("test", "Test message", "Body.")
        failed = await _mail("test", "Failed one", "Body.")
        await OutboxMessage.filter(id=failed).update(status="failed")
        old = await _mail("test", "Old one", "Body.")
        await OutboxMessage.filter(id=old).update(
            status="failed", created_at=datetime(2020, 1, 1, tzinfo=UTC)
        )
        page = await admin.get("/admin/mail")
        assert page.status_code == 200
        assert "only in development" in page.text and "smtp" in page.text
        assert "Test message" not in page.text
        counts = dict(
            zip(
                ("Waiting to be sent", "Being sent", "Failed", "Sent"),
                (1, 0, 1, 0),
                strict=True,
            )
        )
        for label, n in counts.items():
            assert f"<dt>{label}</dt><dd>{n}</dd>" in page.text, label
        assert (await admin.get(f"/admin/mail/{ident}")).status_code == 404
        await admin.aclose()
