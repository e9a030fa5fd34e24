"""The one reader of dates and times people type (activities now; notices and schedules adopt it).

    parse(text, now, zone, lang, after=None) -> datetime (aware, UTC) | Refusal

What it reads, in the configured zone (full-width digits and colons are fine):
- a date: ``2026-12-20``, ``12-20``, ``12/20``, ``2026年12月20日``, ``12月20日``/``12月20号``,
  ``今天``/``明天``/``后天``, ``周六``/``星期六``/``礼拜六``, ``本周六``/``这周六``, ``下周三``/``下个周三``;
  English ``today``, ``tomorrow``, ``Sat``/``Saturday``, ``next Wed``, ``Dec 20``, ``20 Dec``,
  ``December 20 2026``;
- a time: ``14:00``, ``14点``, ``2点半``, ``下午2点``, ``上午9点30分``, ``晚上8点``, ``中午12点``;
  English ``9am``, ``2:30 pm``, ``14:00``;
- a bare time (``16:30``) is on the day of `after` when given (an end time relative to the
  start), otherwise today, or tomorrow once today's has passed.
A date without a year is the next such date that is not in the past; a bare weekday is the next
one (today if its time is still ahead). A date without a time is refused (the time matters).

Why not a library: dateparser 1.5.0 (the best-kept candidate with Chinese data) was measured on
the forms above: it reads ``明天 09:00``, ``周六14:00`` and the English ones, but returns nothing for
``12月20日 下午2点``, ``下周三下午2点``, ``本周六 10:00`` and ``后天 上午10点半`` — the forms Chinese users
type most — and brings five dependencies (regex, pytz, tzlocal, dateutil, tzdata). Pre-normalising
those forms for it would be this grammar anyway, so the grammar stands alone (and is tested).

A refusal is ``Refusal("when.unreadable", ...)`` or ``Refusal("when.need_time", ...)``; its values
fill the catalogue's example (tomorrow's date, as that language writes it). `zone_name` is the
configured zone's local name from the catalogue (北京时间), `span` an activity's time in one line.
This module is the date grammar: the Chinese words people type live here (tests/test_i18n.py).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import Refusal
from bot.i18n import Markup, Translator

MAX_TYPED = 60

# Words of the date grammar (what people type), spelled as data, not user-facing sentences.
_CN_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_CN_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_EN_WEEKDAY = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_EN_MONTH = {
    m: i
    for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)
}
_RELATIVE = {
    "今天": 0,
    "今日": 0,
    "明天": 1,
    "明日": 1,
    "后天": 2,
    "today": 0,
    "tomorrow": 1,
    "day after tomorrow": 2,
    "tonight": 0,
}
_AFTERNOON = ("下午", "晚上", "傍晚", "今晚", "pm")
_MORNING = ("上午", "早上", "早晨", "凌晨", "am")
_NOON = ("中午",)

_TIME_COLON = re.compile(r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?:\s*(?P<ap>am|pm))?")
_TIME_CN = re.compile(
    r"(?P<h>\d{1,2}|[一二两三四五六七八九十]{1,3})\s*[点時时]\s*(?:(?P<half>半)|(?P<mi>\d{1,2})\s*分?)?"
)
_TIME_AP = re.compile(r"(?P<h>\d{1,2})(?:[:.](?P<mi>\d{2}))?\s*(?P<ap>am|pm)\b")

_DATE_ISO = re.compile(r"(?:(?P<y>\d{4})[-/.])?(?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)")
_DATE_CN = re.compile(r"(?:(?P<y>\d{4})\s*年)?\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?")
_WEEK_CN = re.compile(r"(?P<which>本|这|这个|下|下个)?\s*(?:周|星期|礼拜)(?P<wd>[一二三四五六日天七])")
_EN_MONTHS = "|".join(_EN_MONTH)
_YEAR_EN = r"(?:,?\s+(?P<y>\d{4}))?"
_DATE_EN_MD = re.compile(rf"\b(?P<mon>{_EN_MONTHS})[a-z]*\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?{_YEAR_EN}\b")
_DATE_EN_DM = re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mon>{_EN_MONTHS})[a-z]*\.?{_YEAR_EN}\b")
_WEEK_EN = re.compile(r"\b(?P<which>this|next)?\s*(?P<wd>mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?")
_FILLER = re.compile(r"(?:\s|,|，|\.|。|\bat\b|\bon\b|的)+")


@dataclass(frozen=True)
class _Day:
    day: date
    explicit_year: bool = True  # a month-day without a year rolls over into next year when past
    weekday: bool = False  # a bare weekday rolls to next week when its time has passed today


def parse(
    text: str, now: datetime, zone: ZoneInfo, lang: str = "zh-Hans", *, after: datetime | None = None
) -> datetime | Refusal:
    """The moment `text` names in `zone`, as an aware UTC datetime; or a Refusal with an example."""
    cleaned = _normalise(text)
    if not cleaned or len(cleaned) > MAX_TYPED:
        return _unreadable(now, zone, lang)
    local_now = now.astimezone(zone)
    day, rest = _take_date(cleaned, local_now.date())
    clock, rest = _take_time(rest)
    if rest.strip() and _FILLER.sub("", rest):
        return _unreadable(now, zone, lang)
    if clock is None:
        if day is None:
            return _unreadable(now, zone, lang)
        return Refusal("when.need_time", **example(now, zone, lang))
    if day is None:
        if after is not None:
            base = after.astimezone(zone).date()
            return datetime.combine(base, clock, tzinfo=zone).astimezone(UTC)
        moment = datetime.combine(local_now.date(), clock, tzinfo=zone)
        if moment <= local_now:
            moment = datetime.combine(local_now.date() + timedelta(days=1), clock, tzinfo=zone)
        return moment.astimezone(UTC)
    moment = datetime.combine(day.day, clock, tzinfo=zone)
    if day.weekday and moment <= local_now:
        moment += timedelta(days=7)
    if not day.explicit_year and moment.date() < local_now.date():
        try:
            moment = moment.replace(year=moment.year + 1)
        except ValueError:  # 29 February
            return _unreadable(now, zone, lang)
    return moment.astimezone(UTC)


def example(now: datetime, zone: ZoneInfo, lang: str) -> dict[str, int | str]:
    """The values of the catalogue's ``when.example`` (a date people would type: tomorrow's)."""
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return {"month": tomorrow.month, "day": tomorrow.day}


_RANGE = re.compile(r"^(?P<start>.+?\d)\s*(?:-|–|—|~|至|到)\s*(?P<end>\d{1,2}\s*[:：]\s*\d{2})$")


def split_range(text: str) -> tuple[str, str] | None:
    """A start and a bare end time typed together (明天 09:00-13:00, 12月20日 14:00至16:30), or None."""
    found = _RANGE.match(text.strip())
    return (found.group("start"), found.group("end")) if found else None


def zone_name(tr: Translator, zone: ZoneInfo) -> str:
    """The configured zone as people call it (``zone.Asia/Shanghai`` = 北京时间), else its key."""
    key = f"zone.{zone.key}"
    return str(tr(key)) if tr.catalog.has(key) else zone.key


def day(tr: Translator, moment: datetime, zone: ZoneInfo) -> Markup:
    """A date with its weekday: 12月17日（周四） / Thu 17 Dec."""
    local = moment.astimezone(zone)
    return tr(
        "when.date",
        month=tr(f"when.month.{local.month}"),
        day=local.day,
        weekday=tr(f"when.weekday.{local.weekday()}"),
    )


def moment(tr: Translator, value: datetime, zone: ZoneInfo) -> Markup:
    """One moment: 12月17日（周四）09:00."""
    local = value.astimezone(zone)
    return tr("when.moment", date=day(tr, value, zone), time=local.strftime("%H:%M"))


def span(tr: Translator, start: datetime, end: datetime, zone: ZoneInfo) -> Markup:
    """From start to end, the date once when both are on one day: 12月17日（周四）09:00–13:00."""
    first, last = start.astimezone(zone), end.astimezone(zone)
    if first.date() == last.date():
        return tr("when.span_day", date=day(tr, start, zone), start=first.strftime("%H:%M"), end=last.strftime("%H:%M"))
    return tr("when.span_days", start=moment(tr, start, zone), end=moment(tr, end, zone))


def _unreadable(now: datetime, zone: ZoneInfo, lang: str) -> Refusal:
    return Refusal("when.unreadable", **example(now, zone, lang))


def _normalise(text: str) -> str:
    # NFKC turns full-width digits, colons and spaces into ASCII; a full-width colon ： becomes :.
    value = unicodedata.normalize("NFKC", text).lower().strip()
    return " ".join(value.split())


def _cn_number(value: str) -> int | None:
    if value.isascii() and value.isdigit():
        return int(value)
    if value == "十":
        return 10
    if value.startswith("十"):  # 十一, 十二
        tail = _CN_NUM.get(value[1:])
        return None if tail is None else 10 + tail
    if len(value) == 1:
        return _CN_NUM.get(value)
    return None


def _take_date(text: str, today: date) -> tuple[_Day | None, str]:
    """The date named in `text` (first form found) and the text without it."""
    for word in sorted(_RELATIVE, key=len, reverse=True):
        if word in text:
            return _Day(today + timedelta(days=_RELATIVE[word])), text.replace(word, " ", 1)
    for pattern in (_DATE_CN, _DATE_ISO):
        found = pattern.search(text)
        if found:
            day = _month_day(found.group("y"), int(found.group("m")), int(found.group("d")), today)
            if day is not None:
                return day, _cut(text, found)
    for pattern in (_DATE_EN_MD, _DATE_EN_DM):
        found = pattern.search(text)
        if found:
            month = _EN_MONTH[found.group("mon")[:3]]
            day = _month_day(found.group("y"), month, int(found.group("d")), today)
            if day is not None:
                return day, _cut(text, found)
    found = _WEEK_CN.search(text)
    if found:
        which = found.group("which") or ""
        return _week(today, _CN_WEEKDAY[found.group("wd")], "next" if which.startswith("下") else which), _cut(
            text, found
        )
    found = _WEEK_EN.search(text)
    if found:
        return _week(today, _EN_WEEKDAY[found.group("wd")], found.group("which") or ""), _cut(text, found)
    return None, text


def _month_day(year: str | None, month: int, day: int, today: date) -> _Day | None:
    try:
        return _Day(date(int(year) if year else today.year, month, day), explicit_year=year is not None)
    except ValueError:
        return None


def _week(today: date, weekday: int, which: str) -> _Day:
    """周六 = the next Saturday; 本周六/this Sat = Saturday of this week; 下周三 = Wednesday of next week."""
    monday = today - timedelta(days=today.weekday())
    if which == "next":
        return _Day(monday + timedelta(days=7 + weekday))
    if which:  # 本 / 这 / this: this week's, even when it has passed (then the moment is refused as past)
        return _Day(monday + timedelta(days=weekday))
    return _Day(today + timedelta(days=(weekday - today.weekday()) % 7), weekday=True)


def _take_time(text: str) -> tuple[time | None, str]:
    """The time of day named in `text` and the text without it (and without 下午/pm words)."""
    shift = ""
    for words, name in ((_AFTERNOON, "pm"), (_MORNING, "am"), (_NOON, "noon")):
        for word in words:
            if word in ("am", "pm"):
                continue  # read together with the number below
            if word in text:
                shift, text = name, text.replace(word, " ", 1)
    found = _TIME_AP.search(text) or _TIME_COLON.search(text)
    minute: int | None
    if found:
        hour = int(found.group("h"))
        minute = int(found.group("mi") or 0)
        ap = found.groupdict().get("ap")
        if ap:
            shift = ap
    else:
        found = _TIME_CN.search(text)
        if not found:
            return None, text
        number = _cn_number(found.group("h"))
        if number is None:
            return None, text
        hour = number
        minute = 30 if found.group("half") else int(found.group("mi") or 0)
    if shift in ("pm", "noon") and hour < 12:
        hour += 12 if shift == "pm" or hour < 6 else 0
    elif shift == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None, text
    return time(hour, minute), _cut(text, found)


def _cut(text: str, found: re.Match[str]) -> str:
    return text[: found.start()] + " " + text[found.end() :]


# --- repeat rules: 每天 08:30 到 12月31日, 每周一、周四 19:00 到 12月31日, 每月5日 09:00 到 2027年6月30日 ------------
_UNTIL = re.compile(r"(?:直到|截止到|截至|截止|until|到|至)")
_EVERY_DAY = re.compile(r"^(?:每天|每日|天天)")
_EVERY_WEEK = re.compile(
    r"^每(?:个)?(?:周|星期|礼拜)(?P<days>[一二三四五六日天七](?:\s*[、,和及与]?\s*(?:周|星期|礼拜)?[一二三四五六日天七])*)"
)
_EVERY_MONTH = re.compile(r"^每(?:个)?月\s*(?P<md>\d{1,2})\s*[日号]")


@dataclass(frozen=True)
class Repeat:
    """A repeat rule typed in Chinese: how often, at what time, until which day (inclusive)."""

    freq: str  # 'daily' | 'weekly' | 'monthly'
    at: time
    until: date
    weekdays: tuple[int, ...] = ()  # 0 = Monday
    monthday: int | None = None


def parse_repeat(text: str, now: datetime, zone: ZoneInfo) -> Repeat | None:
    """每天 / 每周一、周四 / 每月5日, a time of day, then 到 (直到, 至, until) and a date; or None."""
    cleaned = _normalise(text)
    if not cleaned or len(cleaned) > MAX_TYPED:
        return None
    parts = _UNTIL.split(cleaned)
    if len(parts) < 2:
        return None
    rule, until_text = " ".join(parts[:-1]).strip(), parts[-1].strip()
    today = now.astimezone(zone).date()
    until, rest = _take_date(until_text, today)
    if until is None or _FILLER.sub("", rest):
        return None
    last = until.day
    if not until.explicit_year and last < today:
        try:
            last = last.replace(year=last.year + 1)
        except ValueError:
            return None
    weekdays: tuple[int, ...] = ()
    monthday: int | None = None
    if found := _EVERY_DAY.match(rule):
        freq = "daily"
    elif found := _EVERY_WEEK.match(rule):
        freq = "weekly"
        weekdays = tuple(sorted({_CN_WEEKDAY[c] for c in found.group("days") if c in _CN_WEEKDAY}))
    elif found := _EVERY_MONTH.match(rule):
        freq, monthday = "monthly", int(found.group("md"))
        if not 1 <= monthday <= 31:
            return None
    else:
        return None
    clock, rest = _take_time(rule[found.end():])
    if clock is None or _FILLER.sub("", rest):
        return None
    return Repeat(freq, clock, last, weekdays, monthday)

