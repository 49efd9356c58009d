"""Personal reply addresses: `reply+TOKEN@domain`, where TOKEN names a post and a member and is
signed with the site's secret key, so it cannot be guessed or altered. It is lower-case base32
(mail servers may change the case of a local part). Whether the member may still reply there
is asked of the policy when a reply arrives, not when the token was made."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

from forum.settings import Settings

_MAC_BYTES = 10
_LAYOUT = ">II"  # post id, member id: both below 2**31


def _mac(secret: str, body: bytes) -> bytes:
    key = hashlib.sha256(b"forum reply address\0" + secret.encode()).digest()
    return hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]


def make_token(secret: str, post_id: int, member_id: int) -> str:
    body = struct.pack(_LAYOUT, post_id, member_id)
    return base64.b32encode(body + _mac(secret, body)).decode().rstrip("=").lower()


def parse_token(secret: str, token: str) -> tuple[int, int] | None:
    """(post id, member id) for a token this site made; None for anything else."""
    raw = token.strip().upper()
    if not raw or len(raw) > 64 or not raw.isalnum():
        return None
    try:
        data = base64.b32decode(raw + "=" * (-len(raw) % 8))
    except (ValueError, TypeError):
        return None
    size = struct.calcsize(_LAYOUT)
    if len(data) != size + _MAC_BYTES:
        return None
    body, mac = data[:size], data[size:]
    if not hmac.compare_digest(mac, _mac(secret, body)):
        return None
    post_id, member_id = struct.unpack(_LAYOUT, body)
    return post_id, member_id


def reply_address(settings: Settings, post_id: int, member_id: int) -> str:
    """The address a member answers to reply to a post by email."""
    domain = settings.sender.rpartition("@")[2] or "localhost"
    return f"reply+{make_token(settings.secret_key, post_id, member_id)}@{domain}"


def token_of(address: str) -> str | None:
    """The token of a `reply+TOKEN@domain` address; None if the address is not one."""
    local = address.strip().strip("<>").rpartition("@")[0]
    prefix, plus, token = local.partition("+")
    if not plus or prefix.lower() != "reply" or not token:
        return None
    return token
