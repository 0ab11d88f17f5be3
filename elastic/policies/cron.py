"""Five-field cron expressions in a time zone, as scheduled scaling uses them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from elastic.errors import ParameterError

__all__ = ["Cron", "cron_from_aws", "cron_to_aws", "time_zone"]


def time_zone(
    name: Any,
    field: str = "timezone",
    *,
    owner: str,
    error: type[ParameterError] = ParameterError,
) -> ZoneInfo:
    """The IANA time zone ``name``, or ``error`` naming ``field`` and what was expected.

    Examples
    --------
    >>> time_zone("Europe/Paris", owner="Cron").key
    'Europe/Paris'
    >>> time_zone("Mars/Olympus", owner="Cron")
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: Cron: timezone='Mars/Olympus' is invalid; expected an IANA ...
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        expected = "an IANA time zone name such as 'UTC' or 'Europe/Paris'"
        raise error(field, name, expected, owner=owner) from None


_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (  # name, low, high, names
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# A day matching the fields is found within this many days back if one exists
# at all: enough for 29 February under the Gregorian century rule.
_LOOKBACK_DAYS = 8 * 366 + 1


class Cron:
    """A cron schedule ``minute hour day-of-month month day-of-week`` in a time zone.

    Fields take ``*`` (or ``?``), numbers, ranges ``a-b``, steps ``*/n`` and
    ``a-b/n``, lists ``a,b``, and month or day names (``JAN``, ``MON``). Day of
    week 0 and 7 are Sunday. When both day fields are restricted a day matches
    either, as in Vixie cron. Local times come from the IANA database: a local
    time skipped by a DST change resolves with the offset from before the
    change (so it runs an hour later by the wall clock), and a repeated one
    runs once, at its first occurrence.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> cron = Cron("30 8 * * MON-FRI", "Europe/Paris")
    >>> cron.latest(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))   # a Saturday
    datetime.datetime(2026, 11, 27, 7, 30, tzinfo=datetime.timezone.utc)
    """

    __slots__ = (
        "_days",
        "_hours",
        "_minutes",
        "_months",
        "_restricted",
        "_weekdays",
        "expression",
        "timezone",
        "tz",
    )

    def __init__(self, expression: str, timezone: str = "UTC") -> None:
        self.expression = expression
        self.timezone = timezone
        if not isinstance(expression, str):
            raise ParameterError("cron", expression, "a string of five fields", owner="Cron")
        parts = expression.split()
        if len(parts) != 5:
            raise ParameterError(
                "cron",
                expression,
                "five fields: minute hour day-of-month month day-of-week",
                owner="Cron",
            )
        sets = [
            _parse_field(part, *spec, expression=expression)
            for part, spec in zip(parts, _FIELDS, strict=True)
        ]
        self._minutes = sorted(sets[0], reverse=True)
        self._hours = sorted(sets[1], reverse=True)
        self._days = sets[2]
        self._months = sets[3]
        self._weekdays = {d % 7 for d in sets[4]}
        self._restricted = (parts[2] not in ("*", "?"), parts[4] not in ("*", "?"))
        self.tz = time_zone(timezone, owner="Cron")
        if not self._restricted[1] and not any(
            d <= _DAYS_IN_MONTH[m - 1] for m in self._months for d in self._days
        ):
            raise ParameterError(
                "cron", expression, "a day of month that exists in one of its months", owner="Cron"
            )

    def __repr__(self) -> str:
        return f"Cron({self.expression!r}, {self.timezone!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cron) and (self.expression, self.timezone) == (
            other.expression,
            other.timezone,
        )

    def __hash__(self) -> int:
        return hash((self.expression, self.timezone))

    def _matches(self, day: date) -> bool:
        if day.month not in self._months:
            return False
        in_month = day.day in self._days
        in_week = (day.isoweekday() % 7) in self._weekdays
        if all(self._restricted):
            return in_month or in_week
        return in_month and in_week

    def latest(self, at: datetime) -> datetime | None:
        """The last time at or before ``at`` (an aware datetime) that the schedule fires, in UTC."""
        local = at.astimezone(self.tz)
        day = local.date()
        for _ in range(_LOOKBACK_DAYS):
            if self._matches(day):
                for hour in self._hours:
                    for minute in self._minutes:
                        fire = datetime.combine(day, time(hour, minute), tzinfo=self.tz)
                        fired = fire.astimezone(UTC)
                        if fired <= at:
                            return fired
            day -= timedelta(days=1)
        return None

    def next_after(self, at: datetime) -> datetime | None:
        """The first time strictly after ``at`` (an aware datetime) that the schedule fires, in
        UTC (``None`` if it never fires again within the eight years searched).

        Examples
        --------
        >>> from datetime import datetime, UTC
        >>> cron = Cron("30 8 * * MON-FRI", "Europe/Paris")
        >>> cron.next_after(datetime(2026, 11, 27, 7, 30, tzinfo=UTC))   # a Friday, at 8:30
        datetime.datetime(2026, 11, 30, 7, 30, tzinfo=datetime.timezone.utc)
        """
        day = at.astimezone(self.tz).date()
        for _ in range(_LOOKBACK_DAYS):
            if self._matches(day):
                for hour in reversed(self._hours):
                    for minute in reversed(self._minutes):
                        fire = datetime.combine(day, time(hour, minute), tzinfo=self.tz)
                        fired = fire.astimezone(UTC)
                        if fired > at:
                            return fired
            day += timedelta(days=1)
        return None


def _parse_field(
    text: str, name: str, low: int, high: int, names: dict[str, int], *, expression: str
) -> set[int]:
    values: set[int] = set()

    def number(token: str) -> int:
        token = token.upper()
        if token in names:
            return names[token]
        if not token.isdigit():
            raise ParameterError(
                f"cron {name}",
                text,
                f"numbers {low}-{high}" + (" or names" if names else ""),
                owner="Cron",
            )
        value = int(token)
        if not low <= value <= high:
            raise ParameterError(f"cron {name}", text, f"values in {low}-{high}", owner="Cron")
        return value

    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ParameterError(f"cron {name}", text, "a step /n with n >= 1", owner="Cron")
            step = int(step_text)
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = number(a), number(b)
            if first > last:
                raise ParameterError(f"cron {name}", text, "ranges a-b with a <= b", owner="Cron")
        else:
            first = number(base)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    return values


# AWS (Application Auto Scaling, EventBridge) six-field cron: name, low, high, names, wildcards
_AWS_FIELDS: tuple[tuple[str, int, int, dict[str, int], str], ...] = (
    ("minutes", 0, 59, {}, ",-*/"),
    ("hours", 0, 23, {}, ",-*/"),
    ("day-of-month", 1, 31, {}, ",-*?/"),
    ("month", 1, 12, _MONTHS, ",-*/"),
    ("day-of-week", 1, 7, {d: i + 1 for d, i in _DAYS.items()}, ",-*?"),
    ("year", 1970, 2199, {}, ",-*/"),
)
_AWS_UNMODELLED = {"L": "last", "W": "nearest weekday", "#": "n-th weekday of the month"}
_DAY_NAMES = list(_DAYS)


def cron_from_aws(expression: str) -> str:
    """The five-field cron of an AWS ``cron(...)`` expression's six fields.

    AWS numbers the days of the week 1-7 from Sunday (five-field cron: 0-6,
    0 or 7 for Sunday), wants ``?`` in exactly one of day-of-month and
    day-of-week, and has a year. Only "any year" (``*``) is modelled, and
    ``L``, ``W`` and ``#`` are refused; so is anything AWS would refuse.

    Examples
    --------
    >>> cron_from_aws("0 8 ? * 2-6 *")   # Monday to Friday
    '0 8 * * 1-5'
    >>> cron_from_aws("30 6 1 * ? *")
    '30 6 1 * *'
    """
    if not isinstance(expression, str):
        raise ParameterError("cron", expression, "six fields as a string", owner="AWS cron")
    parts = expression.split()
    if len(parts) != 6:
        raise ParameterError(
            "cron", expression,
            "six fields: minutes hours day-of-month month day-of-week year", owner="AWS cron",
        )  # fmt: skip
    for part, (name, low, high, names, wildcards) in zip(parts, _AWS_FIELDS, strict=True):
        _check_aws_field(part, name, low, high, names, wildcards)
    minute, hour, day, month, weekday, year = parts
    if year != "*":
        raise ParameterError("cron year", year, "'*' (any year; a year is not modelled)",
                             owner="AWS cron")  # fmt: skip
    if (day == "?") == (weekday == "?"):
        raise ParameterError(
            "cron", expression,
            "one of day-of-month and day-of-week must be '?' and the other not", owner="AWS cron",
        )  # fmt: skip
    if weekday != "?":
        weekday = re.sub(r"\d+", lambda m: str(int(m.group()) - 1), weekday)
    five = " ".join([minute, hour, "*" if day == "?" else day, month,
                     "*" if weekday == "?" else weekday])  # fmt: skip
    Cron(five)  # what AWS would also refuse, such as 30 February
    return five


def _check_aws_field(
    text: str, name: str, low: int, high: int, names: dict[str, int], wildcards: str
) -> None:
    field = f"cron {name}"
    bare = text.upper()
    for word in names:  # JUL and WED are not L and W
        bare = bare.replace(word, "")
    for mark, meaning in _AWS_UNMODELLED.items():
        if mark in bare:
            raise ParameterError(field, text, f"no '{mark}' ({meaning}: not modelled)",
                                 owner="AWS cron")  # fmt: skip
    if "?" in text and ("?" not in wildcards or text != "?"):
        raise ParameterError(field, text, "'?' only alone, in day-of-month or day-of-week",
                             owner="AWS cron")  # fmt: skip
    if "/" in text and "/" not in wildcards:
        raise ParameterError(field, text, "no '/' step in this field", owner="AWS cron")
    if text == "?":
        return
    try:
        _parse_field(text, name, low, high, names, expression=text)
    except ParameterError as error:
        raise ParameterError(
            field, text, f"{error.expected}" + (" (1 = SUN)" if name == "day-of-week" else ""),
            owner="AWS cron",
        ) from None  # fmt: skip


def cron_to_aws(expression: str) -> str:
    """The six fields of AWS's ``cron(...)`` for a five-field cron (any year).

    Days of the week are written as names (``MON-FRI``), which mean the same
    in both forms. A five-field cron that restricts both day fields (a day
    matches either) has no AWS form and is refused.

    Examples
    --------
    >>> cron_to_aws("0 8 * * 1-5")
    '0 8 ? * MON-FRI *'
    >>> cron_to_aws("0 0 1 * *")
    '0 0 1 * ? *'
    """
    cron = Cron(expression)
    minute, hour, day, month, _ = expression.split()
    restricted_day, restricted_week = cron._restricted
    if restricted_day and restricted_week:
        raise ParameterError(
            "cron", expression,
            "at most one restricted day field (AWS cannot say 'this day of the month or this "
            "day of the week')", owner="AWS cron",
        )  # fmt: skip
    if not restricted_week:
        return f"{minute} {hour} {day.replace('?', '*')} {month} ? *"
    days = sorted(cron._weekdays)
    runs: list[list[int]] = []
    for d in days:
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    names = ",".join(
        _DAY_NAMES[run[0]] if len(run) == 1 else f"{_DAY_NAMES[run[0]]}-{_DAY_NAMES[run[-1]]}"
        for run in runs
    )
    return f"{minute} {hour} ? {month} {names} *"
