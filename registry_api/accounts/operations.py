"""Operations of accounts: sign-in and sessions, the actor every other operation takes,
passwords, regulator accounts, the annex 2 roster, and the scope every domain checks.

Each takes a connection and the acting account, runs in one transaction, and raises the
registry's errors; handlers only read the request and shape the answer. Out of scope
answers exactly like absent (`NotFound`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from typing_extensions import TypedDict  # pydantic reads only this one on Python 3.11

from codesvc.storage import Connection
from registry_api.accounts import storage
from registry_api.accounts.forms import RegulatorForm
from registry_api.accounts.roster import roster_csv
from registry_api.accounts.rules import (
    ADMINS_PER_UNIT,
    SESSION_LIFETIME,
    Jurisdiction,
    Level,
    PersonalDataCipher,
    Role,
    creation_refused,
    hash_password,
    levels_below,
    lockout_until,
    new_session_token,
    password_matches,
    password_problems,
    temporary_password,
    token_digest,
)
from registry_api.audit import append_audit, changed_fields
from registry_api.errors import (
    Conflict,
    Forbidden,
    Locked,
    NotFound,
    PasswordChangeRequired,
    RegistryError,
    Unauthenticated,
    ValidationFailed,
)
from registry_api.limits import SIGN_INS_PER_ACCOUNT, SIGN_INS_PER_ADDRESS, Limiter
from registry_api.validators import mask_mobile, mask_resident_id

_BAD_SIGN_IN = "mobile number or password is wrong"


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    expires_at: datetime
    account: storage.Account


@dataclass(frozen=True, slots=True)
class Actor:
    """The signed-in account and the unit it answers for."""

    account: storage.Account
    unit: Jurisdiction | None  # None for enterprise accounts


async def sign_in(conn: Connection, mobile: str, password: str, limiter: Limiter | None) -> Session:
    """A new session; raises `Unauthenticated` (same message whatever was wrong), `Locked`,
    or `TooManyRequests` when `limiter` (None: the server's own console) counts too many
    sign-ins from the address or to the account.

    A failed attempt is recorded, and every attempt audited, and committed before the error
    is raised.
    """
    if limiter is not None:
        await limiter.spend(SIGN_INS_PER_ADDRESS, limiter.address)
        await limiter.spend(SIGN_INS_PER_ACCOUNT, mobile)
    now = datetime.now(UTC)
    failure: RegistryError | None = None
    async with conn.transaction():
        account = await storage.fetch_account_by_mobile(conn, mobile)
        if account is None or account.disabled_at is not None:
            failure = Unauthenticated(_BAD_SIGN_IN)
            why = "no such account" if account is None else "account disabled"
            await _audit_sign_in(conn, account, mobile, "account.sign_in_failed", why)
        elif account.locked_until is not None and account.locked_until > now:
            failure = _locked(account.locked_until, now)
            await _audit_sign_in(conn, account, mobile, "account.sign_in_refused", "locked")
        elif not password_matches(account.password_hash, password):
            # A lock that has run out starts a fresh count.
            failed = 1 if account.locked_until is not None else account.failed_logins + 1
            if account.locked_until is not None:
                await storage.clear_failed_logins(conn, account.id)
            until = lockout_until(failed, now)
            await storage.record_failed_login(conn, account.id, until)
            failure = Unauthenticated(_BAD_SIGN_IN) if until is None else _locked(until, now)
            why = "wrong password" if until is None else "wrong password; locked"
            await _audit_sign_in(conn, account, mobile, "account.sign_in_failed", why)
        else:
            await storage.clear_failed_logins(conn, account.id)
            token = new_session_token()
            expires_at = now + SESSION_LIFETIME
            await storage.insert_session(conn, token_digest(token), account.id, expires_at)
            await _audit_sign_in(conn, account, mobile, "account.sign_in", "signed in")
    if failure is not None:
        raise failure
    assert account is not None
    return Session(token, expires_at, account)


async def _audit_sign_in(
    conn: Connection, account: storage.Account | None, mobile: str, action: str, outcome: str
) -> None:
    """A sign-in attempt in the audit log: by the account it names (actor, when it got in),
    or, naming none, with the mobile tried, masked (never the password)."""
    signed_in = action == "account.sign_in"
    await append_audit(
        conn,
        actor_id=account.id if account is not None and signed_in else None,
        action=action,
        subject_type="account",
        subject_id=str(account.id) if account is not None else "unknown",
        changes=changed_fields(None, {"outcome": outcome, "mobile": mask_mobile(mobile)}),
    )


def _locked(until: datetime, now: datetime) -> Locked:
    seconds = max(1, int((until - now).total_seconds()))
    minutes = (seconds + 59) // 60
    return Locked(
        f"too many failed sign-ins; try again after {until:%Y-%m-%d %H:%M} UTC "
        f"(in {minutes} minute(s))",
        retry_after=seconds,
    )


async def authenticate(
    conn: Connection,
    token: str | None,
    *,
    changing_password: bool = False,
    idle_timeout: timedelta | None = None,
) -> Actor:
    """The actor behind a session token; a pending forced password change blocks all else.
    With `idle_timeout` (the console's sessions), a session unused for longer has ended, and
    each use restarts the count."""
    if not token:
        raise Unauthenticated("sign in first: send Authorization: Bearer <token>")
    if idle_timeout is None:
        account = await storage.fetch_session_account(conn, token_digest(token))
    else:
        account = await storage.touch_session(conn, token_digest(token), idle_timeout)
    if account is None:
        raise Unauthenticated("the session is unknown, ended or expired; sign in again")
    if account.must_change_password and not changing_password:
        raise PasswordChangeRequired("change the password first: POST /api/v1/auth/password")
    return await acting_as(conn, account)


async def acting_as(conn: Connection, account: storage.Account) -> Actor:
    """The actor an account acts as. Without a session only for the server's own console
    (demo data, the CLI) and tests; requests get theirs from `authenticate`."""
    unit = None
    if account.jurisdiction_id is not None:
        unit = await storage.fetch_jurisdiction(conn, account.jurisdiction_id)
    return Actor(account, unit)


async def sign_out(conn: Connection, actor: Actor, token: str) -> None:
    """End the session of `token`, which `actor` signed in with."""
    async with conn.transaction():
        await storage.end_session(conn, token_digest(token))
        await audit(conn, actor, "account.sign_out", "account", str(actor.account.id), {})


async def change_password(conn: Connection, actor: Actor, current: str, new: str) -> None:
    account = actor.account
    if not password_matches(account.password_hash, current):
        raise ValidationFailed(
            "the current password is wrong", {"current_password": "does not match"}
        )
    problems = password_problems(new, account.mobile)
    if current == new:
        problems.append("must differ from the current password")
    if problems:
        raise ValidationFailed(
            "the new password is not acceptable", {"new_password": "; ".join(problems)}
        )
    async with conn.transaction():
        await storage.set_password(conn, account.id, hash_password(new), must_change=False)
        await audit(conn, actor, "account.password_change", "account", str(account.id), {})


def regulator_unit(actor: Actor) -> Jurisdiction:
    """The unit of a regulator; an enterprise is told there is nothing here (404)."""
    if actor.unit is None or actor.account.role is None:
        raise NotFound("no such resource")  # enterprises see nothing of the regulators
    return actor.unit


async def jurisdiction_in_scope(
    conn: Connection, actor: Actor, jurisdiction_id: str
) -> Jurisdiction:
    unit = regulator_unit(actor)
    found = await storage.fetch_jurisdiction(conn, jurisdiction_id)
    if found is None or not unit.contains(found):
        raise NotFound(f"no jurisdiction {jurisdiction_id}")
    return found


@dataclass(frozen=True, slots=True)
class Created:
    account: storage.Account
    temporary_password: str
    warnings: list[str]


async def create_regulator(
    conn: Connection, actor: Actor, form: RegulatorForm, cipher: PersonalDataCipher
) -> Created:
    creator_unit = regulator_unit(actor)
    assert actor.account.role is not None
    async with conn.transaction():
        unit = await storage.fetch_jurisdiction(conn, form.jurisdiction_id)
        if unit is None or not creator_unit.contains(unit):
            raise Forbidden(
                "the unit is not one you manage",
                {"jurisdiction_id": f"no jurisdiction {form.jurisdiction_id} in your scope"},
            )
        refused = creation_refused(actor.account.role, creator_unit, form.role, form.level, unit)
        if refused is not None:
            raise Forbidden(refused)
        password = temporary_password()
        account = await storage.insert_regulator(
            conn,
            mobile=form.mobile,
            name=form.name,
            password_hash=hash_password(password),
            role=form.role,
            level=form.level,
            jurisdiction_id=unit.id,
            work_unit=form.work_unit,
            position=form.position,
            office_phone=form.office_phone,
            resident_id_sealed=None if form.resident_id is None else cipher.seal(form.resident_id),
            resident_id_masked=None
            if form.resident_id is None
            else mask_resident_id(form.resident_id),
            remark=form.remark,
            created_by=actor.account.id,
        )
        if account is None:
            raise Conflict(
                "an account with this mobile number exists already",
                {"mobile": "is the login of another account"},
            )
        await audit(
            conn, actor, "account.create", "account", str(account.id), account_fields(account)
        )
        warnings = []
        admins = await storage.count_admins(conn, unit.id)
        if form.role is Role.ADMIN and admins > ADMINS_PER_UNIT:
            warnings.append(f"{unit.name} now has {admins} admins; the rule is 1 or 2 per unit")
    return Created(account, password, warnings)


async def account_in_scope(conn: Connection, actor: Actor, account_id: int) -> storage.Account:
    unit = regulator_unit(actor)
    account = await storage.fetch_account(conn, account_id)
    if account is None or account.jurisdiction_id is None:
        raise NotFound(f"no account {account_id}")
    target_unit = await storage.fetch_jurisdiction(conn, account.jurisdiction_id)
    if target_unit is None or not unit.contains(target_unit):
        raise NotFound(f"no account {account_id}")
    return account


async def accounts_in_scope(conn: Connection, actor: Actor) -> list[storage.Account]:
    return await storage.fetch_accounts_below(conn, regulator_unit(actor).path)


async def reset_password(conn: Connection, actor: Actor, account_id: int) -> str:
    """A temporary password for the account, to be changed at its next sign-in."""
    async with conn.transaction():
        target = await account_in_scope(conn, actor, account_id)
        _admin_over(actor, target)
        password = temporary_password()
        await storage.set_password(conn, target.id, hash_password(password), must_change=True)
        await storage.end_sessions_of(conn, target.id)
        await audit(
            conn,
            actor,
            "account.password_reset",
            "account",
            str(target.id),
            changed_fields(
                {"must_change_password": target.must_change_password},
                {"must_change_password": True},
            ),
        )
    return password


async def disable(conn: Connection, actor: Actor, account_id: int) -> None:
    async with conn.transaction():
        target = await account_in_scope(conn, actor, account_id)
        _admin_over(actor, target)
        if target.disabled_at is not None:
            raise Conflict("the account is disabled already")
        await storage.disable_account(conn, target.id)
        await storage.end_sessions_of(conn, target.id)
        await audit(
            conn,
            actor,
            "account.disable",
            "account",
            str(target.id),
            changed_fields({"disabled": False}, {"disabled": True}),
        )


def _admin_over(actor: Actor, target: storage.Account) -> None:
    if actor.account.role is not Role.ADMIN:
        raise Forbidden("only an admin resets passwords and disables accounts")
    if target.id == actor.account.id:
        raise Forbidden("an admin does not reset or disable its own account")


@dataclass(frozen=True, slots=True)
class Roster:
    unit: Jurisdiction
    csv: bytes


async def export_roster(
    conn: Connection, actor: Actor, jurisdiction_id: str, cipher: PersonalDataCipher
) -> Roster:
    """The annex 2 roster of a unit and everything below it, for its admins and those above.
    Resident IDs of accounts below the exporting admin's level are shown in full
    (real-name management), the others masked."""
    unit = await jurisdiction_in_scope(conn, actor, jurisdiction_id)
    if actor.account.role is not Role.ADMIN:
        raise Forbidden("only admins export the roster")
    rows = await storage.fetch_roster(conn, unit.path)
    own = regulator_unit(actor)
    return Roster(unit, roster_csv(rows, cipher, full_ids_for=levels_below(own.level)))


async def create_national_admin(
    conn: Connection, *, mobile: str, name: str, work_unit: str
) -> tuple[storage.Account, str]:
    """The first account (`safecode admin create-national`); refuses a mobile in use."""
    password = temporary_password()
    async with conn.transaction():
        account = await _insert_national_admin(conn, mobile, name, work_unit, password)
        if account is not None:
            await append_audit(
                conn,
                actor_id=None,  # the operator at the server's console
                action="account.create",
                subject_type="account",
                subject_id=str(account.id),
                changes=account_fields(account),
            )
    if account is None:
        raise RegistryError(f"an account with mobile {mobile} exists already")
    return account, password


async def _insert_national_admin(
    conn: Connection, mobile: str, name: str, work_unit: str, password: str
) -> storage.Account | None:
    return await storage.insert_regulator(
        conn,
        mobile=mobile,
        name=name,
        password_hash=hash_password(password),
        role=Role.ADMIN,
        level=Level.NATIONAL,
        jurisdiction_id="000000",
        work_unit=work_unit,
        position=None,
        office_phone=None,
        resident_id_sealed=None,
        resident_id_masked=None,
        remark=None,
        created_by=None,
    )


class AccountProfile(TypedDict):
    """What a person set on an account: never a secret, the resident ID masked."""

    mobile: str
    name: str
    role: Role | None
    level: Level | None
    jurisdiction_id: str | None
    work_unit: str | None
    position: str | None
    office_phone: str | None
    resident_id: str | None
    remark: str | None


def account_profile(account: storage.Account) -> AccountProfile:
    return {
        "mobile": account.mobile,
        "name": account.name,
        "role": account.role,
        "level": account.level,
        "jurisdiction_id": account.jurisdiction_id,
        "work_unit": account.work_unit,
        "position": account.position,
        "office_phone": account.office_phone,
        "resident_id": account.resident_id_masked,
        "remark": account.remark,
    }


def account_fields(account: storage.Account) -> dict[str, Any]:
    """A new account's fields for the audit log."""
    return changed_fields(None, account_profile(account))


async def audit(
    conn: Connection,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: str,
    changes: dict[str, Any],
) -> None:
    await append_audit(
        conn,
        actor_id=actor.account.id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        changes=changes,
    )
