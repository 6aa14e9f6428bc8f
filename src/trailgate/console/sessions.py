"""Console sessions, CSRF tokens and the sign-in lockout delay.

A session is a row in `console_sessions`; the browser holds a random 256-bit token in a cookie
that is also HMAC-signed (HttpOnly, SameSite=Strict, Path=/console, Secure over HTTPS). Only the
token's SHA-256 is stored. The signing key is derived from the instance's master key, so every
worker and node that shares the store accepts the same cookies.

Every session carries its own CSRF token, required in every form the console posts. The sign-in
form, which has no session yet, is bound to a short-lived signed nonce cookie instead.

Lockout: sign-in failures are counted per sign-in name (account + user name, or account root),
whether or not the name exists. After `FREE_FAILURES` failures in a row each further failure
locks the name for a doubling delay (`BASE_DELAY`, capped at `MAX_DELAY`); attempts while
locked are refused without checking the password. A success clears the count; a quiet
`FAILURE_WINDOW` forgets it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, select
from sqlalchemy.exc import IntegrityError

from trailgate.auth.principal import Principal
from trailgate.services import accounts
from trailgate.services.iam import entities
from trailgate.store.schema_console import console_sessions, console_signin_failures
from trailgate.store.schema_iam import iam_tags
from trailgate.store.sealing import load_master_key

if TYPE_CHECKING:
    from trailgate.runtime import Runtime

COOKIE = "tg_console"
SIGNIN_COOKIE = "tg_console_signin"
COOKIE_PATH = "/console"

SESSION_LIFETIME = timedelta(hours=12)
IDLE_TIMEOUT = timedelta(hours=1)
# last_seen_at is written at most this often, so reading pages does not mean writing rows.
TOUCH_INTERVAL = timedelta(minutes=1)
SIGNIN_NONCE_LIFETIME = timedelta(minutes=30)

FREE_FAILURES = 3
BASE_DELAY = timedelta(seconds=10)
MAX_DELAY = timedelta(minutes=15)
FAILURE_WINDOW = timedelta(minutes=30)

ROOT_NAME = "root"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class CookieSigner:
    """HMAC-SHA256 signatures over cookie values, one key, separated by purpose."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, value: str, purpose: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}\0{value}".encode(), "sha256").digest())

    def sign(self, value: str, purpose: str) -> str:
        return f"{value}.{self._mac(value, purpose)}"

    def unsign(self, signed: str, purpose: str) -> str | None:
        value, dot, mac = signed.rpartition(".")
        if not dot or not value:
            return None
        if not hmac.compare_digest(mac.encode(), self._mac(value, purpose).encode()):
            return None
        return value

    def token_for(self, value: str, purpose: str) -> str:
        """A token derived from `value` (the sign-in form's CSRF token from its nonce)."""
        return self._mac(value, purpose)


_signers: dict[int, tuple[weakref.ref[Runtime], CookieSigner]] = {}
_signers_lock = threading.Lock()


def signer_for(runtime: Runtime) -> CookieSigner:
    with _signers_lock:
        cached = _signers.get(id(runtime))
        if cached is not None and cached[0]() is runtime:
            return cached[1]
        master = load_master_key(runtime.config.data_dir)
        key = hmac.new(master, b"trailgate console cookies v1", "sha256").digest()
        signer = CookieSigner(key)
        _signers[id(runtime)] = (weakref.ref(runtime), signer)
        return signer


@dataclass(frozen=True)
class Session:
    """A signed-in console user, as loaded for one request."""

    token_hash: str
    account_id: str
    kind: str  # "Root" | "IAMUser"
    user_id: str | None
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    principal: Principal
    account_alias: str | None

    @property
    def display_name(self) -> str:
        return self.principal.user_name or ROOT_NAME

    def csrf_ok(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(
            presented.encode("utf-8", "replace"), self.csrf_token.encode()  # type: ignore[union-attr]
        )


def _user_tags(conn: Connection, user_id: str) -> dict[str, str]:
    rows = conn.execute(
        select(iam_tags.c.key, iam_tags.c.value).where(
            iam_tags.c.resource_type == "user", iam_tags.c.resource_id == user_id
        )
    )
    return {row.key: row.value for row in rows}


def principal_for(
    conn: Connection, account_id: str, kind: str, user_id: str | None
) -> Principal | None:
    """The principal a session acts as, read fresh (None if the user is gone)."""
    if kind == "Root":
        return Principal.root(account_id)
    if user_id is None:
        return None
    user = entities.get_user_by_id(conn, user_id)
    if user is None or user.account_id != account_id:
        return None
    return Principal.iam_user(
        account_id, user.name, user.id, path=user.path, tags=_user_tags(conn, user.id)
    )


def create_session(
    runtime: Runtime, account_id: str, kind: str, user_id: str | None
) -> str:
    """Start a session; returns the signed cookie value."""
    token = secrets.token_urlsafe(32)
    now = runtime.clock.now()
    with runtime.db.begin() as conn:
        conn.execute(delete(console_sessions).where(console_sessions.c.expires_at < now))
        conn.execute(
            console_sessions.insert().values(
                token_hash=token_hash(token),
                account_id=account_id,
                principal_kind=kind,
                user_id=user_id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    return signer_for(runtime).sign(token, COOKIE)


def load_session(runtime: Runtime, cookie_value: str | None) -> Session | None:
    """The live session a cookie names, or None (bad signature, expired, idle, user gone)."""
    if not cookie_value:
        return None
    token = signer_for(runtime).unsign(cookie_value, COOKIE)
    if token is None:
        return None
    digest = token_hash(token)
    now = runtime.clock.now()
    with runtime.db.read() as conn:
        row = conn.execute(
            select(console_sessions).where(console_sessions.c.token_hash == digest)
        ).first()
        if row is None:
            return None
        if row.expires_at <= now or row.last_seen_at + IDLE_TIMEOUT <= now:
            principal = None
        else:
            principal = principal_for(conn, row.account_id, row.principal_kind, row.user_id)
        account = accounts.get_account(conn, row.account_id)
    if principal is None or account is None or account.status != "ACTIVE":
        end_session(runtime, digest)
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        with runtime.db.begin() as conn:
            conn.execute(
                console_sessions.update()
                .where(console_sessions.c.token_hash == digest)
                .values(last_seen_at=now)
            )
    return Session(
        token_hash=digest,
        account_id=row.account_id,
        kind=row.principal_kind,
        user_id=row.user_id,
        csrf_token=row.csrf_token,
        created_at=row.created_at,
        expires_at=row.expires_at,
        principal=principal,
        account_alias=account.alias,
    )


def end_session(runtime: Runtime, digest: str) -> None:
    with runtime.db.begin() as conn:
        conn.execute(delete(console_sessions).where(console_sessions.c.token_hash == digest))


# -- the sign-in form's CSRF binding ---------------------------------------------------------


def new_signin_nonce(runtime: Runtime) -> tuple[str, str]:
    """(cookie value, form token) for one sign-in form."""
    issued = int(runtime.clock.now().timestamp())
    nonce = f"{secrets.token_urlsafe(24)}~{issued}"
    signer = signer_for(runtime)
    return signer.sign(nonce, SIGNIN_COOKIE), signer.token_for(nonce, "signin-form")


def signin_token_ok(runtime: Runtime, cookie_value: str | None, presented: str | None) -> bool:
    if not cookie_value or not presented:
        return False
    signer = signer_for(runtime)
    nonce = signer.unsign(cookie_value, SIGNIN_COOKIE)
    if nonce is None:
        return False
    _, _, issued = nonce.rpartition("~")
    try:
        age = runtime.clock.now().timestamp() - int(issued)
    except ValueError:
        return False
    if age < 0 or age > SIGNIN_NONCE_LIFETIME.total_seconds():
        return False
    expected = signer.token_for(nonce, "signin-form")
    return hmac.compare_digest(presented.encode("utf-8", "replace"), expected.encode())


# -- lockout ---------------------------------------------------------------------------------


def subject_for(account_id: str, user_name: str | None) -> str:
    if user_name is None:
        return f"{account_id}:{ROOT_NAME}"
    return f"{account_id}:user:{user_name.lower()}"


def locked_for(runtime: Runtime, subject: str) -> float:
    """Seconds the sign-in name stays locked (0 if it may try now)."""
    now = runtime.clock.now()
    with runtime.db.read() as conn:
        row = conn.execute(
            select(console_signin_failures.c.locked_until).where(
                console_signin_failures.c.subject == subject
            )
        ).first()
    if row is None or row.locked_until is None or row.locked_until <= now:
        return 0.0
    return (row.locked_until - now).total_seconds()


def delay_after(failures: int) -> timedelta:
    """The lockout that follows the `failures`-th failure in a row."""
    if failures <= FREE_FAILURES:
        return timedelta()
    return min(MAX_DELAY, BASE_DELAY * (2 ** (failures - FREE_FAILURES - 1)))


def record_failure(runtime: Runtime, subject: str) -> timedelta:
    """Count one failed attempt; returns the lockout it starts (zero if none)."""
    for attempt in range(2):
        try:
            return _record_failure(runtime, subject)
        except IntegrityError:
            # Two first failures at once on PostgreSQL: the other insert won; count again.
            if attempt:
                raise
    return timedelta()


def _record_failure(runtime: Runtime, subject: str) -> timedelta:
    now = runtime.clock.now()
    table = console_signin_failures
    with runtime.db.begin() as conn:
        # Names that nobody tried for a while are forgotten, so made-up names cannot pile up.
        conn.execute(
            delete(table).where(
                table.c.last_failure_at < now - FAILURE_WINDOW - MAX_DELAY,
                table.c.subject != subject,
            )
        )
        row = conn.execute(
            select(table).where(table.c.subject == subject).with_for_update()
        ).first()
        failures = 1
        if row is not None and row.last_failure_at + FAILURE_WINDOW > now:
            failures = row.failures + 1
        delay = delay_after(failures)
        values = {
            "failures": failures,
            "last_failure_at": now,
            "locked_until": now + delay if delay else None,
        }
        if row is None:
            conn.execute(table.insert().values(subject=subject, **values))
        else:
            conn.execute(table.update().where(table.c.subject == subject).values(**values))
    return delay


def clear_failures(runtime: Runtime, subject: str) -> None:
    with runtime.db.begin() as conn:
        conn.execute(
            delete(console_signin_failures).where(console_signin_failures.c.subject == subject)
        )
