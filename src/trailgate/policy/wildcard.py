"""Wildcard patterns of the policy language, compiled once into fast matchers.

`*` matches any run of characters (also none) and `?` exactly one. Two shapes exist:

- glob: the whole string is one pattern (Action/NotAction after case folding, StringLike).
- ARN: Resource/NotResource and the Arn* condition operators. When the pattern has the six
  colon-separated fields of an ARN, the first five fields are matched one by one (a wildcard
  there never crosses a colon) and the sixth, the resource part, may itself contain colons.
  A lone `*` matches everything. A pattern without six fields falls back to a whole-string glob.

A pattern is given as *chunks*: `(text, wild)` pairs. In a wild chunk `*` and `?` are
wildcards; a literal chunk (a substituted policy variable, or an escape such as `${*}`) is
matched character for character. A plain pattern is the single chunk `(pattern, True)`.

Each pattern is classified once: match-all, literal (set lookup), prefix (`str.startswith` with
a tuple) or regular expression; a set of patterns becomes one predicate over those fast paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

Chunk = tuple[str, bool]
"""(text, wild): in a wild chunk `*` and `?` are wildcards, in a literal chunk they are text."""
Predicate = Callable[[str], bool]

ALL = "all"
NEVER = "never"
LITERAL = "literal"
PREFIX = "prefix"
REGEX = "regex"

_ARN_FIELDS_BEFORE_RESOURCE = 5
_REGEX_CACHE_MAX = 4096
_regex_cache: dict[str, Callable[[str], re.Match[str] | None]] = {}


def plain(pattern: str) -> list[Chunk]:
    """The chunks of a pattern written without policy variables."""
    return [(pattern, True)]


def classify(chunks: Sequence[Chunk], arn: bool) -> tuple[str, str]:
    """(shape, payload) for one pattern: (ALL, ""), (NEVER, ""), (LITERAL, text),
    (PREFIX, text before the final `*`) or (REGEX, regular expression source)."""
    if arn:
        if len(chunks) == 1 and chunks[0] == ("*", True):
            return ALL, ""
        translated = _translate_arn(chunks)
        if translated is not None:
            return translated
    return _translate_glob(chunks)


def _translate_glob(chunks: Sequence[Chunk]) -> tuple[str, str]:
    parts: list[str] = []
    literal: list[str] = []
    wildcards = 0
    trailing_star = False
    for text, wild in chunks:
        for ch in text:
            trailing_star = False
            if wild and ch == "*":
                parts.append(".*")
                wildcards += 1
                trailing_star = True
            elif wild and ch == "?":
                parts.append(".")
                wildcards += 1
            else:
                parts.append(re.escape(ch))
                literal.append(ch)
    if wildcards == 0:
        return LITERAL, "".join(literal)
    if wildcards == 1 and trailing_star:
        if not literal:
            return ALL, ""
        return PREFIX, "".join(literal)
    return REGEX, "".join(parts)


def _translate_arn(chunks: Sequence[Chunk]) -> tuple[str, str] | None:
    """The field-by-field translation, or None when the pattern as written (its wild chunks)
    does not have the six fields of an ARN. A substituted value that puts a colon inside one
    of the first five fields makes the pattern match nothing."""
    parts: list[str] = []
    literal: list[str] = []
    field = 0
    wildcards = 0
    trailing_star = False
    broken = False
    for text, wild in chunks:
        for ch in text:
            trailing_star = False
            in_resource = field >= _ARN_FIELDS_BEFORE_RESOURCE
            if ch == ":" and not in_resource:
                if wild:
                    field += 1
                else:
                    broken = True
                parts.append(":")
                literal.append(":")
            elif wild and ch == "*":
                parts.append(".*" if in_resource else "[^:]*")
                wildcards += 1
                trailing_star = in_resource
            elif wild and ch == "?":
                parts.append("." if in_resource else "[^:]")
                wildcards += 1
            else:
                parts.append(re.escape(ch))
                literal.append(ch)
    if field < _ARN_FIELDS_BEFORE_RESOURCE:
        return None
    if broken:
        return NEVER, ""
    if wildcards == 0:
        return LITERAL, "".join(literal)
    if wildcards == 1 and trailing_star:
        return PREFIX, "".join(literal)
    return REGEX, "".join(parts)


def _fullmatcher(source: str) -> Callable[[str], re.Match[str] | None]:
    matcher = _regex_cache.get(source)
    if matcher is None:
        if len(_regex_cache) >= _REGEX_CACHE_MAX:
            _regex_cache.clear()
        matcher = re.compile(source, re.DOTALL).fullmatch
        _regex_cache[source] = matcher
    return matcher


def _always(_: str) -> bool:
    return True


def _never(_: str) -> bool:
    return False


def build(shapes: Iterable[tuple[str, str]]) -> Predicate:
    """One predicate that is true when any of the classified patterns matches."""
    literals: set[str] = set()
    prefixes: list[str] = []
    regexes: list[str] = []
    for shape, payload in shapes:
        if shape == ALL:
            return _always
        if shape == LITERAL:
            literals.add(payload)
        elif shape == PREFIX:
            prefixes.append(payload)
        elif shape == REGEX:
            regexes.append(payload)
    literal_set = frozenset(literals)
    prefix_tuple = tuple(prefixes)
    regex = None
    if regexes:
        regex = _fullmatcher("|".join(f"(?:{source})" for source in regexes))
    if not prefix_tuple and regex is None:
        return literal_set.__contains__ if literal_set else _never
    if not literal_set and regex is None:
        if len(prefix_tuple) == 1:
            (prefix,) = prefix_tuple
            return lambda value: value.startswith(prefix)
        return lambda value: value.startswith(prefix_tuple)
    if not literal_set and not prefix_tuple and regex is not None:
        fullmatch = regex
        return lambda value: fullmatch(value) is not None

    def match(value: str) -> bool:
        if value in literal_set:
            return True
        if prefix_tuple and value.startswith(prefix_tuple):
            return True
        return regex is not None and regex(value) is not None

    return match


def compile_patterns(patterns: Iterable[str], *, arn: bool, fold_case: bool = False) -> Predicate:
    """A predicate over plain patterns (no policy variables). With `fold_case` the patterns are
    lower-cased and the caller must lower-case the value."""
    return build(
        classify(plain(p.lower() if fold_case else p), arn) for p in patterns
    )


def compile_chunk_patterns(patterns: Iterable[Sequence[Chunk]], *, arn: bool) -> Predicate:
    """A predicate over patterns given as chunks (policy variables already substituted)."""
    return build(classify(chunks, arn) for chunks in patterns)


def match_one(chunks: Sequence[Chunk], value: str, *, arn: bool) -> bool:
    """Whether one chunked pattern matches `value` (used for per-request substituted patterns;
    the regular expressions are cached by source)."""
    shape, payload = classify(chunks, arn)
    if shape == ALL:
        return True
    if shape == LITERAL:
        return value == payload
    if shape == PREFIX:
        return value.startswith(payload)
    if shape == REGEX:
        return _fullmatcher(payload)(value) is not None
    return False
