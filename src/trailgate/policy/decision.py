"""The three outcomes of an authorization decision."""

from __future__ import annotations

from enum import StrEnum


class Decision(StrEnum):
    ALLOWED = "Allowed"
    IMPLICITLY_DENIED = "ImplicitlyDenied"
    EXPLICITLY_DENIED = "ExplicitlyDenied"
