"""The kinds of IAM policy document and what each kind permits."""

from __future__ import annotations

from enum import StrEnum


class PolicyKind(StrEnum):
    """Where a policy document is attached; validation rules and size limits differ per kind."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"
    BOUNDARY = "boundary"
    SESSION = "session"
    SCP = "scp"
