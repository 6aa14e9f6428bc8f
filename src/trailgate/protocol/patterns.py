"""Model `pattern` constraints, written for Java's regex engine, compiled for Python's `re`.

AWS validates with `java.util.regex` and whole-string matching. Three things differ from Python:
`\\p{L}`-style Unicode categories (unsupported by `re`), supplementary characters written as
UTF-16 surrogate pairs (`\\uD800\\uDC00`), and ASCII-only `\\w`/`\\d`/`\\s` (Java's default).
"""

from __future__ import annotations

import re
import sys
import threading
import unicodedata
from functools import cache

_SURROGATE_PAIR = re.compile(r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})", re.IGNORECASE)
_CATEGORY = re.compile(r"\\([pP])\{(?:Is)?([A-Za-z]{1,2})\}")

_category_lock = threading.Lock()
_category_ranges: dict[str, str] = {}


def _ranges_for_category(category: str) -> str:
    """Character-class body (no brackets) matching every code point in a Unicode category."""
    cached = _category_ranges.get(category)
    if cached is not None:
        return cached
    with _category_lock:
        if not _category_ranges:
            _build_category_ranges()
    return _category_ranges.get(category, "")


def _build_category_ranges() -> None:
    # One pass over all code points builds every major and minor category; it takes ~0.2 s and
    # only happens the first time a pattern that uses \p{..} is compiled.
    spans: dict[str, list[list[int]]] = {}
    for code in range(sys.maxunicode + 1):
        minor = unicodedata.category(chr(code))
        if minor == "Cs":
            continue
        for name in (minor[0], minor):
            runs = spans.setdefault(name, [])
            if runs and runs[-1][1] == code - 1:
                runs[-1][1] = code
            else:
                runs.append([code, code])
    for name, runs in spans.items():
        _category_ranges[name] = "".join(
            f"\\U{lo:08X}" if lo == hi else f"\\U{lo:08X}-\\U{hi:08X}" for lo, hi in runs
        )


def _join_surrogates(match: re.Match[str]) -> str:
    high = int(match.group(1), 16)
    low = int(match.group(2), 16)
    code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
    return f"\\U{code:08X}"


def translate(java_pattern: str) -> str:
    """Rewrite a Java regex into an equivalent Python `re` pattern."""
    pattern = _SURROGATE_PAIR.sub(_join_surrogates, java_pattern)
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            match = _CATEGORY.match(pattern, i)
            if match:
                body = _ranges_for_category(match.group(2))
                negated = match.group(1) == "P"
                if in_class:
                    if negated:
                        raise ValueError("negated category inside a class is not supported")
                    out.append(body)
                else:
                    out.append(f"[{'^' if negated else ''}{body}]")
                i = match.end()
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            out.append(char)
            # A leading ']' or '^]' is a literal inside the class.
            if pattern.startswith("^", i + 1):
                out.append("^")
                i += 1
            if pattern.startswith("]", i + 1):
                out.append("\\]")
                i += 1
        elif char == "]" and in_class:
            in_class = False
            out.append(char)
        else:
            out.append(char)
        i += 1
    return "".join(out)


@cache
def compile_model_pattern(java_pattern: str) -> re.Pattern[str]:
    """Compiled form of a model pattern; use `.fullmatch`, as Java's `matches()` does."""
    return re.compile(translate(java_pattern), re.ASCII)


def matches(java_pattern: str, value: str) -> bool:
    return compile_model_pattern(java_pattern).fullmatch(value) is not None
