"""Checks of single values: http(s) URLs, e-mail addresses, cron expressions, time zones, ranges.

Each check returns the (possibly normalised) value or raises ValueError with a phrase that reads after
the key's name, e.g. "must be positive, got 0"; the loader adds the key and its line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Check = Callable[[Any], Any]


def http_url(value: str, *, trailing_slash: bool | None = None) -> str:
    """The URL stripped (with a trailing slash added, removed or kept); ValueError unless absolute http(s)."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:  # an unclosed [IPv6 address]
        host = None
    else:
        host = host if parts.scheme in ("http", "https") else None
    if not host or any(c.isspace() for c in text):
        raise ValueError(f"must be an http(s) URL, got {value!r}")
    if trailing_slash is True and not text.endswith("/"):
        return text + "/"
    if trailing_slash is False:
        return text.rstrip("/")
    return text


def email_address(value: str) -> str:
    """The address stripped; ValueError unless it holds one address (a display name may come with it)."""
    _name, address = parseaddr(value)
    # A line break would let a value inject mail headers.
    if not address or "@" not in address or any(c in value for c in "\r\n"):
        raise ValueError(f"must be an email address, got {value!r}")
    return value.strip()


_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_CRON_NAMES = {
    3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}


def cron_problem(expression: str) -> str | None:
    """Why a five-field cron expression is invalid, or None when it is valid."""
    fields = expression.split()
    if len(fields) != 5:
        return f"a cron expression has 5 fields (minute hour day month weekday), got {len(fields)}"
    for position, (field_name, low, high) in enumerate(_CRON_FIELDS):
        names = _CRON_NAMES.get(position, [])
        for part in fields[position].split(","):
            base, _, step = part.partition("/")
            if step and (not step.isdigit() or int(step) == 0):
                return f"bad step {step!r} in the {field_name} field"
            if base == "*":
                continue
            bounds = base.split("-")
            if len(bounds) > 2 or not all(bounds):
                return f"bad {field_name} field {part!r}"
            for bound in bounds:
                if bound.lower() in names:
                    continue
                if not bound.isdigit() or not low <= int(bound) <= high:
                    return f"{field_name} {bound!r} is outside {low}-{high}"
    return None


def cron(expression: str) -> str:
    """The expression unchanged; ValueError unless it is a valid five-field cron expression."""
    problem = cron_problem(expression)
    if problem:
        raise ValueError(f"{expression!r} is not valid: {problem}")
    return expression


def time_zone(zone: str) -> str:
    """The zone's name unchanged; ValueError unless the tz database knows it."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{zone!r} is not a known time zone") from None
    return zone


def watch_terms(terms: tuple[str, ...]) -> tuple[str, ...]:
    """Keywords or /regular expressions/, stripped; ValueError for an empty term or a bad pattern."""
    if not all(term.strip() for term in terms):
        raise ValueError(f"must be an array of non-empty strings, got {list(terms)!r}")
    for term in terms:
        if len(term) > 2 and term.startswith("/") and term.endswith("/"):
            try:
                re.compile(term[1:-1])
            except re.error as exc:
                raise ValueError(f"has a bad pattern {term!r}: {exc}") from None
    return tuple(term.strip() for term in terms)


def addresses(values: tuple[str, ...]) -> tuple[str, ...]:
    """Each item checked as an email address."""
    return tuple(email_address(value) for value in values)


def mail_link(value: str) -> str:
    """A mailto:/http(s) URL unchanged, or a bare address made a mailto: URL (List-Unsubscribe)."""
    if value.startswith(("mailto:", "https://", "http://")):
        return value
    return "mailto:" + email_address(value)


def http_prefixed(value: str) -> str:
    """The value unchanged; ValueError unless it starts with http:// or https:// (it may hold a {date})."""
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"must be an http(s) URL, got {value!r}")
    return value


def stripped_or_none(value: str) -> str | None:
    """The string stripped; None when nothing is left (an empty value means unset)."""
    return value.strip() or None


def lower(value: str) -> str:
    """The string stripped and lower-cased."""
    return value.strip().lower()


def non_empty(value: str) -> str:
    """The string unchanged; ValueError when it is blank."""
    if not value.strip():
        raise ValueError("must be a non-empty string")
    return value


def one_of(*choices: str) -> Check:
    """A check that the value is one of `choices`."""
    allowed = ", ".join(choices[:-1]) + f" or {choices[-1]}"

    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be {allowed}, got {value!r}")
        return value

    return check


def at_least(least: float) -> Check:
    """A check that a number is `least` or more."""

    def check(value: float) -> float:
        if value < least:
            raise ValueError(f"must be at least {least}, got {value}")
        return value

    return check


def at_most(most: float) -> Check:
    """A check that a number is `most` or less: every number key has a ceiling, so none overflows a date or a timer."""

    def check(value: float) -> float:
        if value > most:
            raise ValueError(f"must be at most {most:g}, got {value:g}")
        return value

    return check


def state_url(value: str) -> str:
    """A SQLite path, or a sqlite:// or postgresql:// URL (the databases newsdigest.store is written for)."""
    if "://" in value:
        scheme = value.split("://", 1)[0].lower()
        if scheme not in ("sqlite", "sqlite+pysqlite", "postgres", "postgresql", "postgresql+psycopg"):
            raise ValueError(f"must be a SQLite file path or a postgresql:// URL, got a {scheme}:// URL")
    elif not value.strip():
        raise ValueError("must be a SQLite file path or a database URL, got an empty string")
    return value


def positive(value: float) -> float:
    """The number unchanged; ValueError unless it is above zero."""
    if value <= 0:
        raise ValueError(f"must be positive, got {value}")
    return value


def between(low: float, high: float) -> Check:
    """A check that a number lies in [low, high]."""

    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return check


def fraction(value: float) -> float:
    """The number unchanged; ValueError unless 0 < value <= 1."""
    if not 0.0 < value <= 1.0:
        raise ValueError(f"must be in (0, 1], got {value}")
    return value
