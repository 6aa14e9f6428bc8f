"""Policy variables: `${key}`, `${key, 'default'}` and the escapes `${*}`, `${?}`, `${$}`.

Only documents whose Version is 2012-10-17 have variables; in older documents (2008-10-17 or
no Version) the text stays literal policy text. A template is parsed once; per request it is
rendered against the request context into wildcard chunks (see `wildcard`): the policy's own
text keeps its wildcards, a substituted value or an escape is literal.

Key names are case-insensitive (the context is keyed in lower case). A key that is absent, or
that holds several values (a multivalued key never substitutes), takes the default when one
is written; without a default the variable cannot be resolved and the statement that holds it
does not apply to the request (IAM User Guide, "Variables and tags": an unresolvable variable
"might cause the entire statement to be invalid").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Union

from trailgate.policy.wildcard import Chunk

VERSION_WITH_VARIABLES = "2012-10-17"

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_KEY_AND_DEFAULT = re.compile(r"\s*([^\s,']+)\s*(?:,\s*'([^']*)'\s*)?")
_ESCAPES = frozenset({"*", "?", "$"})

ContextValue = Union[str, tuple[str, ...]]  # noqa: UP007 - a runtime alias
Context = Mapping[str, ContextValue]

# Token kinds.
TEXT = 0  # policy text: wildcards stay wildcards
ESCAPE = 1  # ${*} ${?} ${$}: one literal character
VARIABLE = 2  # (VARIABLE, key in lower case, default or None)


class Template:
    """A policy string with at least one `${...}` token."""

    __slots__ = ("keys", "required", "tokens")

    def __init__(self, tokens: tuple[tuple[int, str, str | None], ...]) -> None:
        self.tokens = tokens
        self.keys = frozenset(key for kind, key, _ in tokens if kind == VARIABLE)
        self.required = frozenset(
            key for kind, key, default in tokens if kind == VARIABLE and default is None
        )

    @property
    def is_static(self) -> bool:
        """True when the template holds only escapes, so it renders the same for every request."""
        return not self.keys

    def chunks(self, context: Context) -> list[Chunk]:
        """The wildcard chunks for this request; the caller has checked `required`."""
        out: list[Chunk] = []
        for kind, text, default in self.tokens:
            if kind == TEXT:
                out.append((text, True))
            elif kind == ESCAPE:
                out.append((text, False))
            else:
                value = context.get(text)
                out.append((value if type(value) is str else default or "", False))
        return out

    def text(self, context: Context) -> str:
        """The rendered string, wildcards and substitutions alike (for exact comparisons)."""
        return "".join(text for text, _ in self.chunks(context))

    def __repr__(self) -> str:
        return f"Template({self.tokens!r})"


def parse(text: str, version: str | None) -> Template | None:
    """The template for `text`, or None when it has no variable or escape (or the document's
    Version does not support variables)."""
    if version != VERSION_WITH_VARIABLES or "${" not in text:
        return None
    tokens: list[tuple[int, str, str | None]] = []
    position = 0
    found = False
    for match in _VARIABLE.finditer(text):
        inner = match.group(1)
        if inner in _ESCAPES:
            token: tuple[int, str, str | None] = (ESCAPE, inner, None)
        else:
            parsed = _KEY_AND_DEFAULT.fullmatch(inner)
            if parsed is None:
                continue  # not a variable: stays policy text
            token = (VARIABLE, parsed.group(1).lower(), parsed.group(2))
        found = True
        if match.start() > position:
            tokens.append((TEXT, text[position : match.start()], None))
        tokens.append(token)
        position = match.end()
    if not found:
        return None
    if position < len(text):
        tokens.append((TEXT, text[position:], None))
    return Template(tuple(tokens))


def resolvable(required: frozenset[str], context: Context) -> bool:
    """Whether every variable without a default has a single value in the request context."""
    return all(type(context.get(key)) is str for key in required)
