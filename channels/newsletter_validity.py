"""Validity statements in a newsletter: "gültig vom 20.11. bis 30.11.2026", "nur bis 30.11.",
"valid until November 30, 2026", "valable jusqu'au 19.01.2026", "válido hasta el 15 de enero",
"valida fino al 10 gennaio", "geldig t/m 5 januari", "ważna do 31 grudnia", "du 27/11 au 30/11",
"valid 11/27/2026–11/30/2026" (US month first, when a number says so),
"nur bis Sonntag", "nur heute" -> the first and last day."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_MONTHS = {
    "januar": 1, "jänner": 1, "january": 1, "jan": 1, "februar": 2, "february": 2, "feb": 2, "märz": 3,
    "maerz": 3, "march": 3, "mär": 3, "mrz": 3, "mar": 3, "april": 4, "apr": 4, "mai": 5, "may": 5,
    "juni": 6, "june": 6, "jun": 6, "juli": 7, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "oktober": 10, "october": 10, "okt": 10, "oct": 10,
    "november": 11, "nov": 11, "dezember": 12, "december": 12, "dez": 12, "dec": 12,
    # fr, es, it, nl, pl (Polish in the genitive, as dates write it)
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "juin": 6, "juillet": 7, "août": 8,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12, "decembre": 12,
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7, "settembre": 9,
    "ottobre": 10, "dicembre": 12,
    "januari": 1, "februari": 2, "maart": 3, "mei": 5, "augustus": 8,
    "stycznia": 1, "lutego": 2, "marca": 3, "kwietnia": 4, "maja": 5, "czerwca": 6, "lipca": 7,
    "sierpnia": 8, "września": 9, "października": 10, "listopada": 11, "grudnia": 12,
}
_MON = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = re.compile(
    r"(?<!\d)(?:(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})"  # 2026-11-30
    r"|(?P<sa>\d{1,2})/(?P<sb>\d{1,2})(?:/(?P<sy>\d{4}|\d{2}))?(?![\d/])"  # 27/11, 27/11/2026, US 11/27/2026
    r"|(?P<nd>\d{1,2})\.\s?(?P<nm>\d{1,2})\.(?:\s?(?P<ny>\d{4}|\d{2})(?!\d))?"  # 30.11.2026, 30.11.
    rf"|(?P<dd>\d{{1,2}})\.?\s+(?:de\s+)?(?P<dm>{_MON})\b\.?(?:\s+(?:del?\s+)?(?P<dy>\d{{4}}))?"  # 30 Nov 2026, 15 de enero de 2026
    rf"|\b(?P<mm>{_MON})\b\.?\s+(?P<md>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<my>\d{{4}}))?)",  # November 30, 2026
    re.I)
_VALIDITY = re.compile(
    r"\b(?:gültig|gilt|valid|nur bis|bis zum|bis einschließlich|läuft bis|endet|ends?|until|through|"
    r"expires?|aktionszeitraum|angebotszeitraum|aktion bis|angebot bis|"
    r"valable|jusqu['’](?:au|à)|válid[oa]|hasta el|valid[oa] fino|fino al|geldig|t/m|"
    r"ważn[aey]|obowiązuje|du(?=\s*\d{1,2}[./])|vom(?=\s*\d{1,2}\.))\b", re.I)  # "du 27/11", not "du coton"
# "nur bis Sonntag", "until Sunday", "jusqu'à dimanche": the next such day from the day it was sent
_WEEKDAYS = {
    "montag": 0, "monday": 0, "lundi": 0, "maandag": 0, "dienstag": 1, "tuesday": 1, "mardi": 1, "dinsdag": 1,
    "mittwoch": 2, "wednesday": 2, "mercredi": 2, "woensdag": 2, "donnerstag": 3, "thursday": 3, "jeudi": 3,
    "donderdag": 3, "freitag": 4, "friday": 4, "vendredi": 4, "vrijdag": 4, "samstag": 5, "sonnabend": 5,
    "saturday": 5, "samedi": 5, "zaterdag": 5, "sonntag": 6, "sunday": 6, "dimanche": 6, "zondag": 6,
}
_WEEKDAY = re.compile(
    r"\s*(?:(?:bis|until|till|through|to|jusqu['’]à|tot(?: en met)?|t/m)\s+)?(?:(?:zum|this|ce|deze)\s+)?"
    rf"(?P<day>{'|'.join(_WEEKDAYS)})\b\s*,?\s*(?:den\s+|le\s+)?", re.I)
_TODAY = re.compile(r"\b(?:nur heute|heute nur|today only|only today|aujourd['’]hui seulement|alleen vandaag)\b", re.I)
_NOT_VALIDITY = re.compile(r"liefer|versand|zugestellt|deliver|shipping|arrive", re.I)
_RANGE = r"\s*(?:-|–|—|bis(?: zum| einschließlich)?|to|until|till|through|au|al|t/m|tot|do)\s*"


@dataclass
class _DateParts:
    day: int
    month: int | None
    year: int | None


def _year(text: str | None) -> int | None:
    return (int(text) + 2000 if len(text) == 2 else int(text)) if text else None


def _month_first(tokens: list[re.Match]) -> bool:
    """Whether the statement's slash dates are US month/day: some second number is no month
    ("11/27/2026") and no first number is one. Else day/month, as Europe writes them."""
    slashes = [(int(t["sa"]), int(t["sb"])) for t in tokens if t["sa"]]
    return any(b > 12 for _, b in slashes) and not any(a > 12 for a, _ in slashes)


def _date_parts(m: re.Match, month_first: bool = False) -> _DateParts:
    g = m.groupdict()
    if g["iy"]:
        return _DateParts(int(g["id"]), int(g["im"]), int(g["iy"]))
    if g["sa"]:
        day, month = (g["sb"], g["sa"]) if month_first else (g["sa"], g["sb"])
        return _DateParts(int(day), int(month), _year(g["sy"]))
    if g["nd"]:
        return _DateParts(int(g["nd"]), int(g["nm"]), _year(g["ny"]))
    if g["dd"]:
        return _DateParts(int(g["dd"]), _MONTHS[g["dm"].lower()], int(g["dy"]) if g["dy"] else None)
    return _DateParts(int(g["md"]), _MONTHS[g["mm"].lower()], int(g["my"]) if g["my"] else None)


class ValidityProblem(ValueError):
    """A validity statement whose dates make no window: no such day, or the end before the start."""


def parse_validity(text: str, around: date) -> tuple[date | None, date | None] | None:
    """read_validity's window; None also for a statement whose dates make none."""
    try:
        return read_validity(text, around)
    except ValidityProblem:
        return None


def is_relative(text: str) -> bool:
    """Whether a validity text names no date, only a weekday or today ("nur bis Sonntag"): weaker
    than a dated statement in the same email ("Angebote gültig bis 30.11.")."""
    return not _DATE.search(text) and parse_validity(text, date(2001, 1, 1)) is not None


def read_validity(text: str, around: date) -> tuple[date | None, date | None] | None:
    """The first and last day of a validity text: "gültig vom 20.11. bis 30.11.2026",
    "nur bis 30.11.", "valid until November 30, 2026", "valid 20–30 Nov 2026". None if there is none.
    A date without a year takes the other date's year, else the next such date on or after `around`,
    the day the newsletter was sent ("bis 5.1." sent on 20.12. is next January's; see _year_of)."""
    if _NOT_VALIDITY.search(text):
        return None
    if _TODAY.search(text) and not _DATE.search(text):  # "nur heute": the day it was sent
        return around, around
    if kw := _VALIDITY.search(text):
        begin, after = kw.start(), kw.end()
    elif (begin := _bare_range(text)) is not None:  # "Black Week 27.11. – 30.11.2026"
        after = begin
    else:
        return None
    window = text[begin:after + 80]
    tokens = list(_DATE.finditer(window, after - begin))
    weekday = _WEEKDAY.match(window, after - begin)
    if weekday and not (tokens and tokens[0].start() == weekday.end()):  # not "bis Sonntag, 29.11.": its date
        return None, around + timedelta(days=(_WEEKDAYS[weekday["day"].lower()] - around.weekday()) % 7)
    if not tokens:
        return None
    first, month_first = tokens[0], _month_first(tokens)
    end = _date_parts(first, month_first)
    start: _DateParts | None = None
    lead = window[after - begin:first.start()]
    tail = window[first.end():]
    if m := re.search(rf"(\d{{1,2}})\.?{_RANGE}$", lead):  # "20.–30.11.2026", "20–30 Nov 2026"
        start = _DateParts(int(m.group(1)), None, None)
    elif len(tokens) > 1 and re.fullmatch(_RANGE, window[first.end():tokens[1].start()]):
        start, end = end, _date_parts(tokens[1], month_first)
    elif m := re.match(rf"{_RANGE}(\d{{1,2}})(?:st|nd|rd|th)?\.?(?:,?\s*(\d{{4}}))?\b", tail):  # "Nov 20 – 30, 2026"
        start, end = end, _DateParts(int(m.group(1)), end.month, int(m.group(2)) if m.group(2) else end.year)
    elif re.search(r"\b(?:ab|from|starting|seit|à partir du|a partir del?|dal|vanaf|od)\s*(?:dem\s*)?$", lead, re.I):
        start, end = end, None
    try:
        first_day, last_day = _complete(start, end, around)
    except ValueError as e:  # "31.02." is no day
        raise ValidityProblem(f"names no such day ({e})") from None
    if first_day and last_day and last_day < first_day:
        raise ValidityProblem(f"ends ({last_day:%d.%m.%Y}) before it starts ({first_day:%d.%m.%Y})")
    return first_day, last_day


def _bare_range(text: str) -> int | None:
    """Where a range of two dates starts in a text without a validity word ("Black Week 27.11. –
    30.11.2026", "27.–30.11."): a campaign's dates, as a banner states them."""
    tokens = list(_DATE.finditer(text))
    for a, b in zip(tokens, tokens[1:]):
        if re.fullmatch(_RANGE, text[a.end():b.start()]):
            return a.start()
    for t in tokens:
        if m := re.search(rf"(?<![\d.])\d{{1,2}}\.?{_RANGE}$", text[:t.start()]):
            return m.start()
    return None


GRACE = timedelta(days=30)  # a validity may have begun, or a late copy ended, this long before sending


def _year_of(parts: _DateParts, sent: date) -> int:
    """The year of the next day.month on or after the day the newsletter was sent (less GRACE: a
    copy sent late keeps last month's dates); a 29.02. only where there is one."""
    for year in range(sent.year - 1, sent.year + 8):
        try:
            if date(year, parts.month, parts.day) >= sent - GRACE:
                return year
        except ValueError:
            continue
    raise ValueError("no such day")


def _complete(start: _DateParts | None, end: _DateParts | None, around: date) -> tuple[date | None, date | None]:
    if start and end:
        start.month = start.month or end.month
        start_year_given, end_year_given = start.year is not None, end.year is not None
        start.year = start.year or end.year or _year_of(start, around)
        end.year = end.year or start.year
        s, e = date(start.year, start.month, start.day), date(end.year, end.month, end.day)
        if e < s and not end_year_given:  # "vom 20.12. bis 5.1.": the end is in the next year
            e = e.replace(year=e.year + 1)
        elif e < s and not start_year_given:
            s = s.replace(year=s.year - 1)
        return s, e
    one = start or end
    d = date(one.year or _year_of(one, around), one.month, one.day)
    return (d, None) if start else (None, d)


