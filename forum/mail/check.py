"""`forum mail-test ADDRESS`: one message through the outbox and the configured transport, now.

Operators run it to check their SMTP settings (and `forum doctor` may call `send_test`). The
message is a real outbox row, so it shows on the admins' mail page with its result; it is
tried once only: a test message that went out hours later would confuse whoever ran it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from forum.mail.outbox import deliver, domain_of, enqueue, make_deliverer
from forum.models import OutboxMessage
from forum.settings import Settings

KIND = "test"


@dataclass(frozen=True)
class TestResult:
    ok: bool
    # "sent" or "failed"; what went wrong, for the operator (never a password).
    status: str
    error: str
    transport: str


def valid_address(address: str) -> bool:
    """An address we can put in an envelope: one mailbox, user@domain."""
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, IndexError):
        return False
    return bool(parsed.username and parsed.domain and "." in parsed.domain)


async def send_test(settings: Settings, address: str) -> TestResult:
    """Write a test message to `address` and send it at once; the result (the database must be
    open). Raises ValueError for an address that is not one."""
    if not valid_address(address):
        raise ValueError(f"{address!r} is not an email address")
    async with in_transaction() as conn:
        row = await enqueue(
            conn,
            kind=KIND,
            to=address,
            subject=f"Test message from {domain_of(settings.base_url)}",
            text=(
                "This message was sent by `forum mail-test` to check that the forum can send "
                f"email.\n\nForum: {settings.base_url}\n"
                f"Sent: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n"
            ),
            domain=domain_of(settings.base_url),
        )
    deliverer = make_deliverer(settings)
    lease = timedelta(seconds=settings.email_lease_seconds)
    claimed = await OutboxMessage.filter(id=row.id, status="queued").update(
        status="sending", attempts=F("attempts") + 1, claimed_until=datetime.now(UTC) + lease
    )
    if claimed:  # (an app process's deliverer may have been quicker: then it is theirs)
        row = await OutboxMessage.get(id=row.id)
        try:
            outcome = await deliver(
                row,
                deliverer.transport,
                deliverer.sender,
                deliverer.sender_name,
                within=settings.email_lease_seconds / 2,
            )
        finally:
            await deliverer.transport.close()
        if outcome == "retry":
            await OutboxMessage.filter(id=row.id, status="queued").update(status="failed")
    row = await OutboxMessage.get(id=row.id)
    return TestResult(
        ok=row.status == "sent",
        status=row.status,
        error=row.last_error,
        transport=deliverer.transport.description,
    )
