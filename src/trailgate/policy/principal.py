"""Who is asking (`PrincipalInfo`) and how a Principal / NotPrincipal element names them.

A Principal element can name the requester in ways of different strength, and the strength
decides what a resource-based policy grants on its own (IAM User Guide, "Policy evaluation
logic", resource-based policies within one account):

- DIRECT: the requester itself ("*", the IAM user ARN, the role-session or federated-user
  session ARN, a Service / Federated / CanonicalUser name of the requester). Not limited by an
  implicit deny in identity policies, a permissions boundary or a session policy.
- ROLE: the role ARN behind an assumed-role session. Still limited by the boundary and the
  session policy (not by the identity policies).
- ACCOUNT: the account ("123456789012" or "arn:aws:iam::123456789012:root"): grants nothing by
  itself within the account; the identity policy must allow too.

NotPrincipal excludes a requester only when every identity in its chain is listed: a user is
(user ARN, account), a role session (session ARN, role ARN, account); the account ARN alone
does not exempt the account's users, and without it the account itself stays denied
(IAM User Guide, "NotPrincipal").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

NO_MATCH = 0
ACCOUNT = 1
ROLE = 2
DIRECT = 3

MATCH_NAMES = {DIRECT: "principal", ROLE: "role", ACCOUNT: "account"}

ROOT = "Root"
IAM_USER = "IAMUser"
ASSUMED_ROLE = "AssumedRole"
FEDERATED_USER = "FederatedUser"
AWS_SERVICE = "AWSService"
ANONYMOUS = "Anonymous"
WEB_IDENTITY_USER = "WebIdentityUser"
SAML_USER = "SAMLUser"
CANONICAL_USER = "CanonicalUser"

ACCOUNT_PRINCIPAL_TYPES = frozenset({ROOT, IAM_USER, ASSUMED_ROLE, FEDERATED_USER})
SESSION_PRINCIPAL_TYPES = frozenset({ASSUMED_ROLE, FEDERATED_USER})

_ACCOUNT_ID = re.compile(r"\d{12}")
_CANONICAL_ID = re.compile(r"[0-9a-fA-F]{64}")
# Identity providers that appear as Federated principals, not as AWS service principals.
_WEB_IDENTITY_PROVIDERS = frozenset(
    {"cognito-identity.amazonaws.com", "accounts.google.com", "graph.facebook.com",
     "www.amazon.com", "appleid.apple.com"}
)


def _split_arn(text: str) -> list[str] | None:
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return parts


@dataclass(frozen=True, slots=True)
class PrincipalInfo:
    """The requester. `role_arn` is the full role ARN (with path) of an assumed-role session."""

    arn: str
    account: str | None
    type: str
    role_arn: str | None = None
    session_name: str | None = None
    service: str | None = None
    canonical_user_id: str | None = None
    federated_provider: str | None = None

    @property
    def is_account_principal(self) -> bool:
        """Root, IAM users and sessions: principals of an AWS account, subject to its SCPs."""
        return self.type in ACCOUNT_PRINCIPAL_TYPES

    @property
    def is_session(self) -> bool:
        return self.type in SESSION_PRINCIPAL_TYPES

    @classmethod
    def anonymous(cls) -> PrincipalInfo:
        return cls(arn="anonymous", account=None, type=ANONYMOUS)

    @classmethod
    def from_arn(cls, text: str) -> PrincipalInfo:
        """A principal for simulation from its ARN (or "anonymous", an account id, a service
        principal name, a web-identity provider, a SAML/OIDC provider ARN, a canonical user id).
        For an assumed-role session the role path is taken to be "/". A role ARN stands for
        the role's sessions in general (it matches the role, never a particular session)."""
        text = text.strip()
        if text in ("anonymous", "*", ""):
            return cls.anonymous()
        if _ACCOUNT_ID.fullmatch(text):
            return cls(arn=f"arn:aws:iam::{text}:root", account=text, type=ROOT)
        if _CANONICAL_ID.fullmatch(text):
            return cls(arn=text, account=None, type=CANONICAL_USER, canonical_user_id=text)
        parts = _split_arn(text)
        if parts is None:
            if ":" not in text and "." in text:
                if text.lower() in _WEB_IDENTITY_PROVIDERS:
                    return cls(arn=text, account=None, type=WEB_IDENTITY_USER,
                               federated_provider=text)
                return cls(arn=text, account=None, type=AWS_SERVICE, service=text)
            raise ValueError(f"not a principal ARN: {text!r}")
        _, partition, service, _, account, resource = parts
        if service == "iam":
            if resource == "root":
                return cls(arn=text, account=account, type=ROOT)
            if resource.startswith("user/"):
                return cls(arn=text, account=account, type=IAM_USER)
            if resource.startswith("role/"):
                return cls(arn=text, account=account, type=ASSUMED_ROLE, role_arn=text)
            if resource.startswith("saml-provider/"):
                return cls(arn=text, account=None, type=SAML_USER, federated_provider=text)
            if resource.startswith("oidc-provider/"):
                return cls(arn=text, account=None, type=WEB_IDENTITY_USER,
                           federated_provider=text)
        elif service == "sts":
            if resource.startswith("assumed-role/"):
                pieces = resource.split("/")
                if len(pieces) >= 3 and pieces[1] and pieces[-1]:
                    role_name, session = pieces[1], "/".join(pieces[2:])
                    return cls(
                        arn=text, account=account, type=ASSUMED_ROLE,
                        role_arn=f"arn:{partition}:iam::{account}:role/{role_name}",
                        session_name=session,
                    )
            elif resource.startswith("federated-user/"):
                return cls(arn=text, account=account, type=FEDERATED_USER,
                           session_name=resource[len("federated-user/"):])
        raise ValueError(f"not a principal ARN: {text!r}")


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


class PrincipalSpec:
    """A compiled Principal or NotPrincipal element."""

    __slots__ = (
        "accounts", "canonical", "federated", "roles", "services", "sessions", "users",
        "wildcard",
    )

    def __init__(self, element: Any) -> None:
        self.wildcard = False
        accounts: set[str] = set()
        users: set[str] = set()
        roles: set[str] = set()
        sessions: set[str] = set()
        services: set[str] = set()
        federated: set[str] = set()
        canonical: set[str] = set()
        entries: Iterable[tuple[str, Any]]
        if element == "*":
            entries = [("AWS", "*")]
        elif isinstance(element, Mapping):
            entries = element.items()
        else:
            entries = []
        for principal_type, value in entries:
            kind = principal_type.lower() if isinstance(principal_type, str) else ""
            for name in _names(value):
                if kind == "aws":
                    self._aws(name, accounts, users, roles, sessions)
                elif kind == "service":
                    services.add(name.lower())
                elif kind == "federated":
                    federated.add(name)
                elif kind == "canonicaluser":
                    canonical.add(name.lower())
        self.accounts = frozenset(accounts)
        self.users = frozenset(users)
        self.roles = frozenset(roles)
        self.sessions = frozenset(sessions)
        self.services = frozenset(services)
        self.federated = frozenset(federated)
        self.canonical = frozenset(canonical)

    def _aws(self, name: str, accounts: set[str], users: set[str], roles: set[str],
             sessions: set[str]) -> None:
        if name == "*":
            self.wildcard = True
            return
        if _ACCOUNT_ID.fullmatch(name):
            accounts.add(name)
            return
        parts = _split_arn(name)
        if parts is None:
            return  # unique ids (AIDA..., AROA...) name principals we cannot resolve here
        service, account, resource = parts[2], parts[4], parts[5]
        if service == "iam":
            if resource == "root":
                accounts.add(account)
            elif resource.startswith("user/"):
                users.add(name)
            elif resource.startswith("role/"):
                roles.add(name)
        elif service == "sts" and (
            resource.startswith("assumed-role/") or resource.startswith("federated-user/")
        ):
            sessions.add(name)

    def strength(self, principal: PrincipalInfo) -> int:
        """How strongly this element names `principal` (NO_MATCH, ACCOUNT, ROLE or DIRECT)."""
        if self.wildcard:
            return DIRECT
        ptype = principal.type
        if ptype == IAM_USER:
            if principal.arn in self.users:
                return DIRECT
        elif ptype == ASSUMED_ROLE:
            if principal.arn in self.sessions:
                return DIRECT
            if principal.role_arn in self.roles:
                return ROLE
        elif ptype == FEDERATED_USER:
            if principal.arn in self.sessions:
                return DIRECT
        elif ptype == ROOT:
            if principal.account in self.accounts:
                return DIRECT
        elif ptype == AWS_SERVICE:
            return DIRECT if (principal.service or "").lower() in self.services else NO_MATCH
        elif ptype in (WEB_IDENTITY_USER, SAML_USER):
            return DIRECT if principal.federated_provider in self.federated else NO_MATCH
        elif ptype == CANONICAL_USER:
            cid = (principal.canonical_user_id or "").lower()
            return DIRECT if cid in self.canonical else NO_MATCH
        else:
            return NO_MATCH
        if principal.account is not None and principal.account in self.accounts:
            return ACCOUNT
        if principal.canonical_user_id and principal.canonical_user_id.lower() in self.canonical:
            return ACCOUNT
        return NO_MATCH

    def excludes(self, principal: PrincipalInfo) -> bool:
        """For NotPrincipal: True when every identity in the requester's chain is listed."""
        if self.wildcard:
            return True
        ptype = principal.type
        account_listed = principal.account is not None and principal.account in self.accounts
        if ptype == ROOT:
            return account_listed
        if ptype == IAM_USER:
            return account_listed and principal.arn in self.users
        if ptype == ASSUMED_ROLE:
            # A role given by its ARN alone stands for its sessions in general: no session
            # ARN can be listed for it.
            session_listed = principal.arn == principal.role_arn or principal.arn in self.sessions
            return account_listed and session_listed and principal.role_arn in self.roles
        if ptype == FEDERATED_USER:
            return account_listed and principal.arn in self.sessions
        if ptype == AWS_SERVICE:
            return (principal.service or "").lower() in self.services
        if ptype in (WEB_IDENTITY_USER, SAML_USER):
            return principal.federated_provider in self.federated
        if ptype == CANONICAL_USER:
            return (principal.canonical_user_id or "").lower() in self.canonical
        return False
