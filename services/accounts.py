"""Accounts and roles. Secrets are random bearer tokens, stored only as argon2 hashes.

A token looks like `tl_<id>_<secret>`: the id finds the account, argon2 checks the secret.
Verified tokens are remembered for `CACHE_SECONDS` (keyed by a SHA-256 of the token, never
the token itself) so that a busy client does not pay argon2 on every request; a revocation
takes effect at once in the revoking process and within that time everywhere else.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.dates import utc_text
from domain.errors import InvalidValueError, LedgerError
from domain.outreach import AREAS
from services.ledger import Ledger

ROLES = ("isu", "coordinator", "viewer")
CACHE_SECONDS = 60

_DDL = (
    """CREATE TABLE IF NOT EXISTS ledger_accounts (
        username TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        area TEXT,
        token_id TEXT NOT NULL UNIQUE,
        token_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        revoked_at TEXT,
        revoked_by TEXT)""",
)


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    area: str | None

    def can_read(self) -> bool:
        return True

    def can_write_treaty_facts(self) -> bool:
        return self.role == "isu"

    def can_write_outreach(self, area: str | None) -> bool:
        return self.role == "isu" or (self.role == "coordinator" and area is not None and area == self.area)


class AuthenticationError(LedgerError, PermissionError):
    def __init__(self, reason: str) -> None:
        self.field = "authorization"
        super().__init__(f"authorization: {reason}")


class ForbiddenError(LedgerError, PermissionError):
    def __init__(self, account: Account, action: str) -> None:
        self.field = "role"
        area = f" ({account.area})" if account.area else ""
        super().__init__(f"role: {account.username} is {account.role}{area} and may not {action}")


class Accounts:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.hasher = PasswordHasher()
        self._verified: dict[str, tuple[float, Account]] = {}
        ledger.create_tables(_DDL)

    def add(self, *, username: str, role: str, area: str | None, by: str, now: datetime) -> str:
        """Create an account; returns its token, which is shown once and stored only hashed."""
        name = username.strip()
        if not name or not all(c.isalnum() or c in "._-@" for c in name):
            raise InvalidValueError("username", username, "letters, digits and . _ - @")
        if role not in ROLES:
            raise InvalidValueError("role", role, ROLES)
        if role == "coordinator" and area not in AREAS:
            raise InvalidValueError("area", area, AREAS)
        if role != "coordinator" and area:
            raise InvalidValueError("area", area, "empty: only coordinators hold a thematic area")
        if self.ledger.query("SELECT 1 FROM ledger_accounts WHERE username = ?", [name]):
            raise InvalidValueError("username", username, "a name not yet taken")
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        self.ledger.execute([(
            "INSERT INTO ledger_accounts (username, role, area, token_id, token_hash, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [name, role, area, token_id, self.hasher.hash(secret), utc_text(now), by],
        )])
        return f"tl_{token_id}_{secret}"

    def revoke(self, *, username: str, by: str, now: datetime) -> None:
        changed = self.ledger.execute([(
            "UPDATE ledger_accounts SET revoked_at = ?, revoked_by = ? WHERE username = ? AND revoked_at IS NULL",
            [utc_text(now), by, username],
        )])
        if not changed:
            raise InvalidValueError("username", username, "an active account")
        self._verified = {k: v for k, v in self._verified.items() if v[1].username != username}

    def list(self) -> list[dict[str, Any]]:
        rows = self.ledger.query(
            "SELECT username, role, area, created_at, created_by, revoked_at, revoked_by FROM ledger_accounts "
            "ORDER BY username")
        keys = ("username", "role", "area", "created_at", "created_by", "revoked_at", "revoked_by")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def authenticate(self, token: str | None) -> Account:
        if not token:
            raise AuthenticationError("a bearer token is required (Authorization: Bearer tl_...)")
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self._verified.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "tl":
            raise AuthenticationError("the token is not a Treaty Ledger token")
        rows = self.ledger.query(
            "SELECT username, role, area, token_hash FROM ledger_accounts WHERE token_id = ? AND revoked_at IS NULL",
            [parts[1]])
        if not rows:
            raise AuthenticationError("unknown or revoked token")
        username, role, area, token_hash = rows[0]
        try:
            self.hasher.verify(token_hash, parts[2])
        except (VerificationError, InvalidHashError):
            raise AuthenticationError("unknown or revoked token") from None
        account = Account(username=username, role=role, area=area)
        self._verified[key] = (time.monotonic() + CACHE_SECONDS, account)
        return account
