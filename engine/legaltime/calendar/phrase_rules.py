"""The table of time-phrase rules: one regular expression and one reader per form.

Why a table: official documents write deadlines in a dozen recurring shapes
("nhiều tháng / several months: Tháng 3,4/2017", "Quý III năm 2024", "trước ngày 09/08/2021", "Hàng năm",
"Sau khi MOU được ký kết").  Each shape is one row here, with the example shown
to users when nothing matches; adding a shape means adding a row.

Patterns run on *folded* text (see ``phrases.fold``): lower case, Vietnamese
diacritics removed (đ → d), dashes as "-".  Folding keeps one character per
character, so a match's span also locates the words in the original phrase
(``pending_event`` is quoted verbatim).  The first row that matches anywhere
in the phrase wins, so specific rows come before general ones.

A phrase that names what cannot be is refused, never read as something else:
"trong vòng -5 ngày" is not 5 days, "Quý IV năm 9999" is not this year's
fourth quarter, "Quý V năm 2024" is not the year 2024.  So years are matched
as any four digits (or any number after a word like "năm") and checked
against the calendar in ``periods``; a minus sign before a count is seen; and
the ``refuse_*`` rows, placed just before the rows that would misread their
phrase, catch a quarter, a month or a year that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.legaltime.calendar import periods as p
from agreeflow.engine.legaltime.calendar.days import Calendar
from agreeflow.engine.legaltime.calendar.due import Due

_MONTHS = ("january february march april may june july august september october "
           "november december").split()
MONTH_NUMBERS = {name: i + 1 for i, name in enumerate(_MONTHS)}
MONTH_NUMBERS.update({name[:3]: i + 1 for i, name in enumerate(_MONTHS)})
MONTH_NUMBERS["sept"] = 9
MON = r"(?:" + "|".join(sorted(MONTH_NUMBERS, key=len, reverse=True)) + r")\b\.?"
Y = r"\d{4}"                  # any year; periods.check_year says when the calendar lacks it
Y_BARE = r"(?:19|2\d)\d\d"     # a number standing alone is a year only when it looks like one
DMY = "|".join(rf"\d{{1,2}}\s*{sep}\s*\d{{1,2}}\s*{sep}\s*\d{{4}}" for sep in ("/", r"\.", "-"))
DATE = (rf"(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}|{DMY}"
        rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MON},?\s+\d{{4}}|{MON}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
        rf"|ngay\s+\d{{1,2}}\s+thang\s+\d{{1,2}}\s+nam\s+\d{{4}})")
DAY_MONTH = rf"(?:\d{{1,2}}\s*(?:/|-|\s+thang\s+)\s*\d{{1,2}}(?![\d/]|\s*-\s*\d)|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MON}|{MON}\s+\d{{1,2}}\b)"
YEARLY = r"(?:hang nam|moi nam|every year|each year|annually|yearly)"
UNITS = (r"(?:ngay lam viec|working days?|business days?|wd|ngay|calendar days?|days?|d"
         r"|tuan|weeks?|thang|months?)")
COUNT_PREFIX = r"(?:(?:trong vong|trong thoi han|trong|within|in|no later than)\s+)?"
DEADLINE_WORDS = (r"(?:(?:cham nhat(?:\s+(?:la|vao))?|han(?:\s+chot)?(?:\s+la)?|den|by|no later than"
                  r"|not later than|on or before|until|deadline:?|due:?|on)\s+)?(?:ngay\s+)?")


@dataclass(frozen=True)
class Context:
    """What a reader needs besides the match: the original phrase, the reference date, the calendar."""

    phrase: str
    ref: date
    cal: Calendar

    def raw(self, match: re.Match[str], group: str) -> str:
        """The original (unfolded) words of ``group``, trimmed of punctuation."""
        return self.phrase[match.start(group):match.end(group)].strip(" \t.;,:*")


Reader = Callable[[re.Match[str], Context], Due]


@dataclass(frozen=True)
class Rule:
    """One accepted form: ``pattern`` (on folded text), its reader, what it is called and examples."""

    name: str
    pattern: re.Pattern[str]
    read: Reader
    label: str
    """What the form is, a message of the catalogue ("" for a row that only refuses)."""
    examples: str
    """Phrases it reads, ``; ``-separated (in the language they are written in)."""


def _rule(name: str, pattern: str, read: Reader, label: str, examples: str) -> Rule:
    return Rule(name, re.compile(pattern), read, label, examples)


# ---------------------------------------------------------------- readers
def _g(match: re.Match[str], name: str) -> str | None:
    return match.groupdict().get(name)


# A year the row's optional year group could not take: "Quý I năm 0", "tháng 7/2250" ("năm" is also "five",
# so a number followed by a unit is a count, not a year).
_LEFT_YEAR = re.compile(r"\s*(?:[/.,\-]|nam\b|of\b|in\b)?\s*(\d+)\b(?![/.\-]\d)"
                        r"(?!\s*(?:ngay|tuan|thang|nam|lan|days?|weeks?|months?|years?|times|wd)\b)")


def _year(match: re.Match[str], group: str = "y") -> str | None:
    """The year of an optional year group, or the year-like number it left right after the match."""
    year = _g(match, group)
    rest = match.string[match.end():]
    if year is None:
        left = _LEFT_YEAR.match(rest)
        return left[1] if left else None
    more = re.match(r"\d+", rest)  # "2024" taken from "20245"
    return year + more[0] if more else year


def _count(match: re.Match[str]) -> int:
    """The count of group ``n``, negative when a minus sign stands before it ("-5", not the "10-15" of a range)."""
    before = match.string[:match.start("n")].rstrip()
    negative = before.endswith("-") and re.search(r"\d\s*-$", before) is None
    return -int(match["n"]) if negative else int(match["n"])


def _date(year: int, month: int, day: int) -> date:
    p.check_year(year)
    p.check_month(month)
    try:
        return date(year, month, day)
    except ValueError:
        raise p.PeriodValueError(Msg(N_("there is no day {day}"), day=f"{day:02d}/{month:02d}/{year}")) from None


def to_date(text: str) -> date:
    """A folded date in any DATE form → date; ValueError when it does not exist."""
    words = re.findall(r"[a-z]+", text)
    month_name = next((MONTH_NUMBERS[w] for w in words if w in MONTH_NUMBERS), None)
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    if month_name is not None:
        day, year = (numbers[0], numbers[1])
        return _date(year, month_name, day)
    if numbers[0] > 31:  # ISO: year first
        return _date(numbers[0], numbers[1], numbers[2])
    return _date(numbers[2], numbers[1], numbers[0])


def _day_month(text: str) -> tuple[int, int]:
    words = re.findall(r"[a-z]+", text)
    month_name = next((MONTH_NUMBERS[w] for w in words if w in MONTH_NUMBERS), None)
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    if month_name is not None:
        return numbers[0], month_name
    return numbers[0], numbers[1]


def _month(match: re.Match[str], group: str = "m", name_group: str = "mon") -> int:
    value = _g(match, group)
    if value is not None:
        return int(value)
    return MONTH_NUMBERS[(_g(match, name_group) or "").rstrip(".")]


def read_ongoing(match: re.Match[str], ctx: Context) -> Due:
    return p.ongoing(ctx.phrase)


def read_event_offset(match: re.Match[str], ctx: Context) -> Due:
    n, unit = p.count_unit(_count(match), match["unit"])
    if _g(match, "back"):
        n = -n
    event = ctx.raw(match, "event")
    anchor = re.fullmatch(rf"(?:ngay\s+)?({DATE})", match["event"].strip(" .;,:*"))
    if anchor:  # "10 ngày làm việc kể từ ngày 01/07/2024": the event is a known day
        return p.counted(ctx.cal, to_date(anchor[1]), n, unit, ctx.phrase, event)
    return p.event_relative(ctx.phrase, event, n, unit)


def read_event(match: re.Match[str], ctx: Context) -> Due:
    return p.event_relative(ctx.phrase, ctx.raw(match, "event"))


def read_recurring_day(match: re.Match[str], ctx: Context) -> Due:
    day, month = _day_month(match["dm"])
    return p.recurring_day(ctx.cal, ctx.phrase, ctx.ref, day, month, before=bool(_g(match, "before")))


def read_recurring(match: re.Match[str], ctx: Context) -> Due:
    word = match["per"]
    spec = ("quarterly" if "quy" in word or "quarter" in word
            else "monthly" if "thang" in word or "month" in word else "yearly")
    start = _g(match, "y")
    ref = max(ctx.ref, date(p.check_year(int(start)), 1, 1)) if start else ctx.ref
    return p.recurring(ctx.cal, ctx.phrase, spec, ref)


def read_date(match: re.Match[str], ctx: Context) -> Due:
    return p.fixed_day(ctx.cal, ctx.phrase, to_date(match["when"]), before=bool(_g(match, "before")))


def read_day_month(match: re.Match[str], ctx: Context) -> Due:
    day, month = _day_month(match["dm"])
    return p.fixed_day_next(ctx.cal, ctx.phrase, ctx.ref, day, month, before=bool(_g(match, "before")))


def read_half(match: re.Match[str], ctx: Context) -> Due:
    first = match["h"] in ("dau", "first", "1st", "h1")
    return p.half_year(ctx.cal, ctx.phrase, ctx.ref, _year(match), first)


_QUARTERS = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "first": 1, "second": 2, "third": 3, "fourth": 4,
             "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}


def read_quarter(match: re.Match[str], ctx: Context) -> Due:
    q = match["q"]
    return p.quarter(ctx.cal, ctx.phrase, ctx.ref, _year(match), int(_QUARTERS.get(q, q)))


def refuse_quarter(match: re.Match[str], ctx: Context) -> Due:
    raise p.bad_quarter(ctx.raw(match, "q"))


def refuse_month(match: re.Match[str], ctx: Context) -> Due:
    raise p.bad_month(match["m"])


def refuse_year(match: re.Match[str], ctx: Context) -> Due:
    return p.year(ctx.cal, ctx.phrase, int(match["y"]))  # "năm 0", "năm 24": periods.year refuses them


def read_count(match: re.Match[str], ctx: Context) -> Due:
    n, unit = p.count_unit(_count(match), match["unit"])
    return p.counted(ctx.cal, ctx.ref, n, unit, ctx.phrase)


def read_month_range(match: re.Match[str], ctx: Context) -> Due:
    first, last = _month(match, "m1", "mon1"), _month(match, "m2", "mon2")
    year = int(match["y2"])
    first_year = int(_g(match, "y1") or (year if first <= last else year - 1))
    return p.months(ctx.cal, ctx.phrase, [(first_year, first), (year, last)], span=True)


def read_month_list(match: re.Match[str], ctx: Context) -> Due:
    text = match["ms"]
    numbers = [MONTH_NUMBERS[w] for w in re.findall(r"[a-z]+", text) if w in MONTH_NUMBERS]
    numbers += [int(n) for n in re.findall(r"\d+", text)]
    year = int(match["y"])
    return p.months(ctx.cal, ctx.phrase, [(year, m) for m in sorted(numbers)], span=False)


def read_month(match: re.Match[str], ctx: Context) -> Due:
    return p.month(ctx.cal, ctx.phrase, ctx.ref, _year(match), _month(match))


def read_year_range(match: re.Match[str], ctx: Context) -> Due:
    return p.year(ctx.cal, ctx.phrase, int(match["y2"]), first=int(match["y1"]))


def read_year(match: re.Match[str], ctx: Context) -> Due:
    return p.year(ctx.cal, ctx.phrase, int(match["y"]))


# ---------------------------------------------------------------- the table
M = r"(?:0?[1-9]|1[0-2])"
MY_SEP = r"\s*(?:[/.\-]|\s+nam\s+)\s*"
RULES: tuple[Rule, ...] = (
    _rule("ongoing", r"\b(?:thuong xuyen|lien tuc|ongoing|continuous(?:ly)?|regularly)\b", read_ongoing,
          N_("ongoing"), "Thường xuyên; ongoing"),
    _rule("event_offset",
          rf"(?<!ngay\s)\b{COUNT_PREFIX}(?P<n>\d+)\s*(?P<unit>{UNITS})\s+(?:(?P<back>truoc|before)|ke tu|tinh tu"
          rf"|sau khi|sau|of|after|from|following)\s+(?:(?:khi|the date of|the day of)\s+)?(?P<event>\S.*)",
          read_event_offset,
          N_("N days from an event"),
          "trong vòng 30 ngày kể từ khi ký; within 30 days of signing; 15 ngày làm việc trước ngày 01/09/2024"),
    _rule("event", r"\b(?:sau khi|after|upon|once)\s+(?P<event>\S.*)", read_event,
          N_("after an event"), "Sau khi MOU được ký kết; after the MOU is signed"),
    _rule("recurring_day",
          rf"(?:(?P<before>truoc ngay|truoc|before)\s+|{DEADLINE_WORDS})(?P<dm>{DAY_MONTH})\s*,?\s+{YEARLY}\b",
          read_recurring_day, N_("a day every year"), "chậm nhất ngày 15/12 hằng năm; by 15 December every year"),
    _rule("recurring_day_first",
          rf"\b{YEARLY}\s*,?\s+(?:(?P<before>truoc ngay|truoc|before)\s+|{DEADLINE_WORDS})(?P<dm>{DAY_MONTH})",
          read_recurring_day, N_("a day every year"), "hằng năm, trước ngày 15/12; every year by 15 December"),
    _rule("recurring",
          r"\b(?P<per>(?:hang|moi)\s+(?:nam|quy|thang)|annually|yearly|every year|each year|quarterly"
          r"|every quarter|monthly|every month)\b"
          r"(?:.*?\b(?:ke tu|tu|from|starting)\s+(?:nam\s+|in\s+)?(?P<y>\d+)\b(?![/.\-]\d))?",
          read_recurring, N_("recurring"), "Hàng năm; hàng quý; hàng tháng; annually; quarterly; monthly"),
    _rule("before_date", rf"\b(?P<before>truoc ngay|truoc|before|prior to)\s+(?:ngay\s+)?(?P<when>{DATE})",
          read_date, N_("before a day"), "trước ngày 09/08/2021; before 9 August 2021"),
    _rule("date", rf"(?<![\d/]){DEADLINE_WORDS}(?P<when>{DATE})", read_date,
          N_("a day"), "chậm nhất ngày 15/12/2024; by 2024-07-31; no later than 15 December 2024"),
    _rule("day_month",
          rf"\b(?:(?P<before>truoc ngay|truoc|before)|cham nhat(?:\s+ngay)?|ngay|by|no later than)\s+(?P<dm>{DAY_MONTH})",
          read_day_month, N_("a day without year"), "trước ngày 15/12; by 15 December"),
    _rule("half_year", rf"\b(?:6|sau|nua)\s+(?:thang\s+)?(?P<h>dau|cuoi)\s+nam(?:\s+(?P<y>{Y}))?", read_half,
          N_("half-year"), "6 tháng đầu năm 2024; 6 tháng cuối năm 2024"),
    _rule("half_year_en", rf"\b(?P<h>first|second|1st|2nd)\s+half\s+(?:of\s+)?(?:the\s+year\s+)?(?P<y>{Y})?",
          read_half, N_("half-year"), "first half of 2024; second half of 2024"),
    _rule("half_year_h", rf"\b(?:(?P<h>h[12])\s*[/\-]?\s*(?P<y>{Y})?\b)", read_half, N_("half-year"), "H1 2024; H2/2024"),
    _rule("quarter", rf"\bquy\s+(?P<q>iv|iii|ii|i|[1-4])\b(?:{MY_SEP}|\s*,\s*|\s+)?(?:nam\s+)?(?P<y>{Y})?",
          read_quarter, N_("quarter"), "Quý III năm 2024; quý 3/2024"),
    _rule("quarter_q", rf"\bq(?P<q>[1-4])\b\s*[/\-]?\s*(?P<y>{Y})?", read_quarter, N_("quarter"), "Q3 2024"),
    _rule("quarter_en", rf"\b(?P<q>first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter\s+(?:of\s+)?(?P<y>{Y})?",
          read_quarter, N_("quarter"), "third quarter of 2024"),
    # Before the rows below, which would read "Quý V năm 2024" as the year 2024.
    _rule("refuse_quarter", r"\bquy\s+(?P<q>(?!(?:iv|iii|ii|i|[1-4])\b)(?:[ivxlc]+|\d+))\b(?=\s*(?:$|[/.,\-]|nam\b|\d))",
          refuse_quarter, "", ""),
    _rule("refuse_quarter_q", r"\bq(?P<q>(?![1-4]\b)\d+)\b(?=\s*(?:$|[/\-]|\d))", refuse_quarter, "", ""),
    _rule("refuse_quarter_en", r"\b(?P<q>zeroth|fifth|sixth|seventh|eighth|ninth|tenth"
          r"|(?![1-4](?:st|nd|rd|th))\d+(?:st|nd|rd|th))\s+quarter\b", refuse_quarter, "", ""),
    _rule("count", rf"(?<!ngay\s)\b{COUNT_PREFIX}(?P<n>\d+)\s*(?P<unit>{UNITS})(?!\w)", read_count,
          N_("a count from today"),
          "trong vòng 10 ngày làm việc; trong thời hạn 15 ngày; within 30 days; 10 working days; trong vòng 3 tháng"),
    _rule("month_range",
          rf"\b(?:tu\s+)?thang\s+(?P<m1>{M})(?:{MY_SEP}(?P<y1>{Y}))?\s*(?:den|toi|-)\s*(?:het\s+)?(?:thang\s+)?"
          rf"(?P<m2>{M}){MY_SEP}(?P<y2>{Y})",
          read_month_range, N_("month range"), "Tháng 6-8/2017; Từ tháng 6/2017 đến tháng 12/2017"),
    _rule("month_range_en",
          rf"\b(?:from\s+)?(?P<mon1>{MON})\s*(?P<y1>{Y})?\s*(?:-|to|until|through)\s*(?P<mon2>{MON})\s*(?P<y2>{Y})",
          read_month_range, N_("month range"), "June-August 2017; from June 2017 to December 2017"),
    _rule("month_list", rf"\bthang\s+(?P<ms>{M}(?:\s*(?:,|va|&|\+)\s*{M})+){MY_SEP}(?P<y>{Y})", read_month_list,
          N_("several months"), "Tháng 3,4/2017"),
    _rule("month_list_en", rf"\b(?P<ms>{MON}(?:\s*(?:,|and|&)\s*{MON})+)\s*(?P<y>{Y})", read_month_list,
          N_("several months"), "March and April 2017"),
    _rule("month", rf"\bthang\s+(?P<m>{M})\b(?:{MY_SEP}(?P<y>{Y}))?", read_month,
          N_("month"), "trong tháng 7/2024; tháng 7 năm 2024; Tháng 2/2017"),
    _rule("refuse_month", rf"\bthang\s+(?P<m>(?!{M}\b)\d+)\b(?=\s*(?:$|[/.,\-]|nam\b))", refuse_month, "", ""),
    _rule("month_bare", rf"(?<![\d/.\-])(?P<m>{M})\s*[/.\-]\s*(?P<y>{Y})\b", read_month, N_("month"), "5/2018"),
    _rule("refuse_month_bare", rf"(?<![\d/.\-])(?P<m>(?!{M}\b)\d{{1,2}})\s*[/.\-]\s*{Y}\b", refuse_month, "", ""),
    _rule("month_iso", rf"(?<![\d/.\-])(?P<y>{Y})-(?P<m>0[1-9]|1[0-2])\b(?!-\d)", read_month, N_("month"), "2024-07"),
    _rule("month_en", rf"\b(?P<mon>{MON}),?\s*(?:of\s+)?(?P<y>{Y})\b", read_month, N_("month"), "July 2024; in July 2024"),
    _rule("year_range", rf"(?<![\d/])(?P<y1>{Y_BARE})\s*-\s*(?P<y2>{Y_BARE})\b", read_year_range,
          N_("years"), "2021-2025"),
    _rule("year", rf"(?<![\d/.\-])(?P<y>{Y_BARE})\b(?![/.\-]\d)", read_year,
          N_("year"), "Năm 2021; trong năm 2022; 2022; in 2022"),
    _rule("refuse_year", r"\b(?:nam|year)\s+(?P<y>\d+)\b(?![/.\-]\d)(?!\s*(?:ngay|tuan|thang|nam|lan)\b)",
          refuse_year, "", ""),
)
