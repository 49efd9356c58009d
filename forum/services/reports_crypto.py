"""The key that report text is encrypted under, and AES-GCM around it.

The key never lives in the database, so a copy of the database alone reads no report:

- `FORUM_REPORTS_KEY` (setting `reports_key`): urlsafe base64 of 32 random bytes. Needed on
  PostgreSQL; wins everywhere when set.
- Otherwise, on SQLite, the file `<database file>.reports-key` (mode 0600) beside the database,
  made by `forum migrate`, `forum demo` and the app's start-up when missing. Back it up with the
  database, but keep the two copies apart.
- Otherwise (PostgreSQL without the variable) reports are not configured: filing answers a
  clear page saying so, and start-up logs a warning.

`key_source(settings)` says which of the three applies ("env", "file:<path>" or "none").
Every ciphertext carries its own random 96-bit nonce; the associated data binds it to its case
and its place in the case, so a ciphertext moved to another entry fails to decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from forum.errors import DomainError
from forum.settings import Settings

KEY_BYTES = 32
NONCE_BYTES = 12


class ReportsNotConfigured(DomainError):
    status = 503
    code = "reports_not_configured"
    default_message = (
        "Confidential reports are not configured on this forum yet (the operator must set "
        "FORUM_REPORTS_KEY). Nothing was sent; please tell an organiser in person meanwhile."
    )


def key_file(settings: Settings) -> Path | None:
    """The key file beside a SQLite database file (None for PostgreSQL or an in-memory one)."""
    url = settings.database_url
    if not url.startswith("sqlite://"):
        return None
    path = url.split("://", 1)[1].split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path + ".reports-key")


def key_source(settings: Settings) -> str:
    """Where the reports key comes from: "env", "file:<path>", or "none"."""
    if settings.reports_key:
        return "env"
    path = key_file(settings)
    return f"file:{path}" if path is not None else "none"


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def ensure_key_file(settings: Settings) -> Path | None:
    """Create the SQLite key file when it is the key source and is missing; its path."""
    if settings.reports_key:
        return None
    path = key_file(settings)
    if path is None or path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created with mode 0600 from the start; O_EXCL: never overwrite a key made meanwhile.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w") as out:
        out.write(new_key() + "\n")
    return path


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ReportsNotConfigured(
            f"The reports key in {where} is not urlsafe base64 of 32 bytes: reports are off."
        )
    return key


_cache: dict[tuple[str, str], bytes] = {}


def load_key(settings: Settings) -> bytes:
    """The 32-byte key, or ReportsNotConfigured."""
    source = key_source(settings)
    cached = _cache.get((source, settings.reports_key or ""))
    if cached is not None:
        return cached
    if settings.reports_key:
        key = _decode(settings.reports_key, "FORUM_REPORTS_KEY")
    else:
        path = key_file(settings)
        if path is None or not path.exists():
            raise ReportsNotConfigured()
        key = _decode(path.read_text(), str(path))
    _cache[(source, settings.reports_key or "")] = key
    return key


def configured(settings: Settings) -> bool:
    try:
        load_key(settings)
    except ReportsNotConfigured:
        return False
    return True


def _aad(report_id: int, case_seq: int) -> bytes:
    return f"case:{report_id}:{case_seq}".encode()


def encrypt(key: bytes, report_id: int, case_seq: int, text: str) -> str:
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, text.encode(), _aad(report_id, case_seq))
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(key: bytes, report_id: int, case_seq: int, token: str) -> str | None:
    """The text, or None when it does not open (wrong key, or tampered with)."""
    try:
        raw = base64.urlsafe_b64decode(token.encode())
        return (
            AESGCM(key)
            .decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(report_id, case_seq))
            .decode()
        )
    except (InvalidTag, ValueError, binascii.Error):
        return None
