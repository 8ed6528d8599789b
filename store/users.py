"""Accountable users: accounts with a role (`admin`: channels, settings, users; `analyst`:
search, watch, export), passwords hashed with argon2id, API tokens of which only the SHA-256 is
kept, and the audit log of who did what and when."""
from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .clock import utcnow
from .errors import NotFound, StoreError

if TYPE_CHECKING:
    from .db import Store

__all__ = ["ROLES", "User", "Users"]
ROLES = ("admin", "analyst")


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    created_at: str


def _hasher():
    from argon2 import PasswordHasher
    return PasswordHasher()


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Users:
    def __init__(self, store: Store):
        self.store = store

    def any(self) -> bool:
        return self.store.conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def add(self, name: str, role: str, password: str) -> User:
        if role not in ROLES:
            raise StoreError(f"role {role!r}: use one of {', '.join(ROLES)}")
        if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum() or len(name) > 64:
            raise StoreError(f"user name {name!r}: letters, digits, - _ . (at most 64)")
        if len(password) < 10:
            raise StoreError("the password is too short: at least 10 characters")
        try:
            with self.store.transaction() as conn:
                conn.execute("INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                             (name, role, _hasher().hash(password), utcnow()))
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"user {name!r} exists; see `dalel user list`") from exc
        return self.get(name)

    def get(self, name: str) -> User:
        row = self.store.conn.execute("SELECT id, name, role, created_at FROM users WHERE name = ?",
                                      (name,)).fetchone()
        if row is None:
            raise NotFound(f"no user {name!r}; see `dalel user list`")
        return User(*row)

    def all(self) -> list[User]:
        return [User(*r) for r in self.store.conn.execute("SELECT id, name, role, created_at FROM users ORDER BY name")]

    def remove(self, name: str) -> User:
        user = self.get(name)
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM users WHERE id = ?", (user.id,))
        return user

    def set_password(self, name: str, password: str) -> None:
        user = self.get(name)
        if len(password) < 10:
            raise StoreError("the password is too short: at least 10 characters")
        with self.store.transaction() as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (_hasher().hash(password), user.id))

    def check_password(self, name: str, password: str) -> User | None:
        """The user when the password is theirs; None otherwise (as slow for a name that does
        not exist as for a wrong password)."""
        from argon2.exceptions import VerificationError
        row = self.store.conn.execute("SELECT id, name, role, created_at, password_hash FROM users WHERE name = ?",
                                      (name,)).fetchone()
        stored = row[4] if row else _DUMMY[0] or _dummy()
        try:
            _hasher().verify(stored, password)
        except VerificationError:
            return None
        except Exception:     # a malformed hash (never written by Dalel): no entry
            return None
        return User(*row[:4]) if row else None

    def new_token(self, name: str) -> str:
        """A new API token for the user (shown once; only its SHA-256 is kept)."""
        user = self.get(name)
        token = "dalel_" + secrets.token_urlsafe(32)
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO user_tokens (\"user\", token_sha256, created_at) VALUES (?, ?, ?)",
                         (user.id, _sha(token), utcnow()))
        return token

    def by_token(self, token: str) -> User | None:
        row = self.store.conn.execute(
            "SELECT u.id, u.name, u.role, u.created_at FROM user_tokens t JOIN users u ON u.id = t.\"user\""
            " WHERE t.token_sha256 = ?", (_sha(token),)).fetchone()
        return User(*row) if row else None

    def by_id(self, user_id: int) -> User | None:
        row = self.store.conn.execute("SELECT id, name, role, created_at FROM users WHERE id = ?",
                                      (user_id,)).fetchone()
        return User(*row) if row else None

    def session_key(self, user_id: int) -> str | None:
        """What a session is bound to besides the user's id: their name, creation and password.
        A removed user's session cannot become a later user's who gets the same id, and a new
        password ends every session signed in with the old one. None: no such user."""
        row = self.store.conn.execute("SELECT id, name, created_at, password_hash FROM users WHERE id = ?",
                                      (user_id,)).fetchone()
        return _sha("\0".join(map(str, row)))[:24] if row else None

    def audit(self, user: str, action: str, target: str | None = None) -> None:
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO audit (at, \"user\", action, target) VALUES (?, ?, ?, ?)",
                         (utcnow(), user, action, (target or "")[:2000]))

    def audit_log(self, limit: int = 1000) -> list[dict[str, Any]]:
        return self.store.rows("SELECT at AS time, \"user\", action, target FROM audit ORDER BY id DESC LIMIT ?",
                               (limit,))


_DUMMY: list[str] = [""]


def _dummy() -> str:
    """A hash to verify against when the name is unknown (no timing difference)."""
    _DUMMY[0] = _hasher().hash(secrets.token_hex(16))
    return _DUMMY[0]
