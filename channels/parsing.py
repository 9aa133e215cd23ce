"""Parsing shared by the channel adapters: money, instants, intervals, percentages, links, GTINs.

Every parser raises ValueError with a message a merchandiser understands ("price '12,34,56' is
not a number"); the adapters turn it into a rejection with file and line.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from unisono.domain.models import is_currency_code


CURRENCY_SYMBOLS = {
    "€": "EUR", "eur": "EUR", "euro": "EUR", "$": "USD", "usd": "USD", "£": "GBP", "gbp": "GBP",
    "fr.": "CHF", "fr": "CHF", "chf": "CHF", "sfr.": "CHF", "kr": "SEK", "sek": "SEK", "kč": "CZK",
    "czk": "CZK", "zł": "PLN", "pln": "PLN", "dkk": "DKK", "nok": "NOK", "₪": "ILS", "ils": "ILS",
}
_ISO_CURRENCY = re.compile(r"^[A-Z]{3}$")


# What the catalog stores: instants a day inside Python's years 1 to 9999 (so any zone's local time
# of them exists), prices below a trillion in their currency (cents fit every database's integer and
# stay exact in a float). Channel files use the far ends for "open": "Aktion bis 31.12.9999".
FIRST_INSTANT = datetime(1, 1, 2, tzinfo=timezone.utc)
LAST_INSTANT = datetime(9999, 12, 30, tzinfo=timezone.utc)
MAX_PRICE = Decimal(10) ** 12
RANGE_TEXT = "0001-01-02 00:00 to 9999-12-30 00:00 UTC"  # instants: a local date near them may be beyond


def bounded_amount(value: Decimal, text: str, what: str = "price") -> Decimal:
    """A parsed amount, or ValueError when it is no finite number below MAX_PRICE (nor negative)."""
    if not value.is_finite():
        raise ValueError(f"{what} {text!r} is not a number")
    if value < 0:
        raise ValueError(f"{what} {text!r} is negative")
    if value >= MAX_PRICE:
        raise ValueError(f"{what} {text!r} is out of range (unisono takes amounts below 1,000,000,000,000)")
    return value


def _currency(token: str | None, default: str) -> str:
    if not token:
        return default
    t = token.strip()
    if _ISO_CURRENCY.match(t):
        return t
    return CURRENCY_SYMBOLS.get(t.lower(), default)


def parse_decimal(text: str, *, decimal_comma: bool | None = None, what: str = "price") -> Decimal:
    """A plain number as exports write it: "19.99", "19,99", "1.299,00", "1,299.00", ",69", " 7,99".

    decimal_comma: True/False when the file's convention is known, None to infer from the text.
    """
    s = text.strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    if not s:
        raise ValueError(f"{what} is empty")
    neg = s.startswith("-")
    s = s.lstrip("+-")
    if not re.fullmatch(r"[0-9.,]+", s) or not any(ch.isdigit() for ch in s):
        raise ValueError(f"{what} {text.strip()!r} is not a number")
    if decimal_comma is None:
        # both marks: the last one is the decimal mark; a lone comma is a decimal comma (exports
        # rarely write thousands marks); several dots ("1.299.000") are thousands marks.
        last_dot, last_comma = s.rfind("."), s.rfind(",")
        if last_dot >= 0 and last_comma >= 0:
            decimal_comma = last_comma > last_dot
        else:
            decimal_comma = s.count(",") == 1 or (s.count(".") > 1)
    dec, thou = (",", ".") if decimal_comma else (".", ",")
    if s.count(dec) > 1:
        raise ValueError(f"{what} {text.strip()!r} is not a number")
    if dec in s and thou in s and s.rfind(thou) > s.find(dec):
        raise ValueError(f"{what} {text.strip()!r} is not a number")
    if thou in s and not re.fullmatch(r"\d{1,3}(" + re.escape(thou) + r"\d{3})+(" + re.escape(dec) + r"\d*)?", s):
        raise ValueError(f"{what} {text.strip()!r} is not a number")
    s = s.replace(thou, "").replace(dec, ".")
    if s.startswith("."):
        s = "0" + s
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"{what} {text.strip()!r} is not a number") from None
    if value >= MAX_PRICE:  # 29 digits would fail in every later step (cents, the database's integers)
        raise ValueError(f"{what} {text.strip()!r} is out of range (unisono takes amounts below 1,000,000,000,000)")
    return -value if neg else value


def parse_feed_money(text: str, default_currency: str, *, what: str = "price") -> tuple[Decimal, str]:
    """A feed price: "19.99 EUR", "EUR 19.99", "19.99" (the default currency), "1,299.00 USD"."""
    s = text.strip()
    m = re.fullmatch(r"([A-Za-z]{3}|[€$£₪])?\s*([-+]?[0-9][0-9.,\s]*|[.,][0-9]+)\s*([A-Za-z]{3}|[€$£₪]|Kč|kr|Fr\.)?", s)
    code = m and (m.group(1) or m.group(3))
    if not m or (m.group(1) and m.group(3)) or (code and code.isalpha() and not is_currency_code(code)
                                                   and code.lower() not in CURRENCY_SYMBOLS):
        raise ValueError(f"{what} {s!r} is not an amount with a currency")
    amount = parse_decimal(m.group(2), what=what)
    if amount < 0:
        raise ValueError(f"{what} {s!r} is negative")
    return amount, _currency(m.group(1) or m.group(3), default_currency)


def parse_text_price(text: str, default_currency: str, *, decimal_comma: bool | None = None) -> tuple[Decimal, str] | None:
    """A price inside free text ("ab 329,99 €", "€79.99", "74.99 Fr.", "statt 99,99 €"); None if none."""
    from price_parser import Price  # loaded here: commands that only parse an --at never read prices in text

    sep = None if decimal_comma is None else ("," if decimal_comma else ".")
    p = Price.fromstring(text, decimal_separator=sep)
    if p.amount is None:
        return None
    bounded_amount(p.amount, p.amount_text or text.strip())
    cur = p.currency
    if cur is None:
        m = re.search(r"\b([A-Z]{3})\b", text)
        cur = m.group(1) if m and m.group(1) in {"EUR", "USD", "GBP", "CHF", "SEK", "CZK", "PLN", "DKK", "NOK"} else None
    return p.amount, _currency(cur, default_currency)


_PERCENT = re.compile(r"(?<![\d,.])(\d{1,2}(?:[.,]\d+)?)\s?%")


def parse_percent(text: str) -> Decimal | None:
    """A discount badge: "-20 %", "20% off", "minus 15 %" -> 20, 20, 15. None if there is none."""
    m = _PERCENT.search(text)
    if not m:
        return None
    return Decimal(m.group(1).replace(",", "."))


_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%Y%m%d")


def _parse_date(s: str) -> date | None:
    if len(s) > 10:  # no date-only format is longer; spares datetimes five failing strptime calls
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    return None


def bounded_instant(dt: datetime, text: str, what: str, clamp: bool = True) -> datetime:
    """An instant within FIRST_INSTANT..LAST_INSTANT. Outside: with clamp (channel files, where
    "31.12.9999" means "open") the nearer bound, else ValueError (an instant a user typed)."""
    try:
        utc = dt.astimezone(timezone.utc)
    except OverflowError:  # year 1 or 9999 in a zone whose UTC time falls outside Python's range
        utc = FIRST_INSTANT - timedelta(days=1) if dt.year < 5000 else LAST_INSTANT + timedelta(days=1)
    if FIRST_INSTANT <= utc <= LAST_INSTANT:
        return dt
    if not clamp:
        raise ValueError(f"{what} {text.strip()!r} is outside the instants unisono handles ({RANGE_TEXT})")
    return FIRST_INSTANT if utc < FIRST_INSTANT else LAST_INSTANT


def local_time_change(dt: datetime) -> str | None:
    """Whether dt's wall time falls in a daylight-saving change of its zone: "skipped" (the clocks
    jump over it; zoneinfo reads it on the offset before the jump: 02:30 is 03:30 summer time),
    "doubled" (it occurs twice; read as the first, fold=0), else None."""
    if not hasattr(dt.tzinfo, "key"):  # a fixed offset ("+02:00", UTC) has no changes
        return None
    try:
        back = dt.astimezone(timezone.utc).astimezone(dt.tzinfo)
        if back.replace(tzinfo=None, fold=0) != dt.replace(tzinfo=None, fold=0):
            return "skipped"
        return "doubled" if dt.replace(fold=1).utcoffset() != dt.replace(fold=0).utcoffset() else None
    except OverflowError:  # the far ends of the calendar: no changes there
        return None


def local_time_note(text: str, dt: datetime, what: str) -> str | None:
    """The note an adapter gives for a time of a file that falls in a daylight-saving change."""
    change = local_time_change(dt)
    if change == "skipped":
        return (f"{what} {text.strip()!r} does not exist in {dt.tzinfo} (the clocks skip that hour):"
                f" read as {dt.astimezone(timezone.utc).astimezone(dt.tzinfo):%H:%M} after the change")
    if change == "doubled":
        return f"{what} {text.strip()!r} occurs twice in {dt.tzinfo} (the clocks go back): read as the first"
    return None


def parse_instant(text: str, tz: tzinfo, *, end_of_day: bool = False, what: str = "date",
                  naive_tz: tzinfo | None = None, clamp: bool = True) -> datetime:
    """An instant from an export. Date-only values are read in `tz`: their start, or with
    end_of_day the start of the next day (windows are half-open [start, end)).
    Times without a zone are in `naive_tz` (default: `tz`; GMC feeds say UTC);
    "Z" and offsets such as "+0200" or "+02:00" are honoured. Instants beyond what the catalog
    stores are its first or last (`bounded_instant`), or with clamp=False a ValueError."""
    s = text.strip()
    if not s:
        raise ValueError(f"{what} is empty")
    d = _parse_date(s)
    if d is not None:
        if end_of_day:
            if d >= LAST_INSTANT.date():  # "bis 31.12.9999": no next day to end at
                return bounded_instant(LAST_INSTANT + timedelta(days=1), s, what, clamp)
            d = d + timedelta(days=1)
        return bounded_instant(datetime.combine(d, time(0), tzinfo=tz), s, what, clamp)
    iso = s.replace(" ", "T", 1) if re.match(r"\d{4}-\d{2}-\d{2} \d", s) else s
    iso = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", iso)  # "+0200" -> "+02:00"
    try:
        dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        m = re.fullmatch(r"(\d{1,2}\.\d{1,2}\.\d{2,4})[ T,]+(\d{1,2}:\d{2}(?::\d{2})?)", s)
        if not m or _parse_date(m.group(1)) is None:
            raise ValueError(f"{what} {s!r} is not a date") from None
        hms = m.group(2)
        try:  # "9:30" and "9:30:00" need a two-digit hour; "25:00" is no time
            dt = datetime.combine(_parse_date(m.group(1)), time.fromisoformat("0" + hms if hms.index(":") == 1 else hms))
        except ValueError:
            raise ValueError(f"{what} {s!r} is not a date") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=naive_tz or tz)
        if not clamp and local_time_change(dt) == "skipped":  # typed: say so rather than guess
            raise ValueError(f"{what} {s!r} does not exist in {dt.tzinfo} (the clocks skip that hour); give a"
                             f" time outside it, or one with its offset such as {dt.isoformat(timespec='minutes')}")
    return bounded_instant(dt, s, what, clamp)


def parse_interval(text: str, tz: tzinfo = timezone.utc, *, what: str = "sale_price_effective_date",
                   naive_tz: tzinfo | None = None, clamp: bool = True) -> tuple[datetime, datetime]:
    """An ISO 8601 interval "start/end" as GMC writes it. A date-only end covers that whole day."""
    parts = text.strip().split("/")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise ValueError(f"{what} {text.strip()!r} is not an interval 'start/end'")
    start = parse_instant(parts[0], tz, what=what, naive_tz=naive_tz, clamp=clamp)
    end = parse_instant(parts[1], tz, end_of_day=True, what=what, naive_tz=naive_tz, clamp=clamp)
    if end <= start:
        raise ValueError(f"{what} {text.strip()!r} ends before it starts")
    return start, end


# (Shopify's search and recommendation positions _pos/_sid/_ss/_psq/_fid, Klaviyo's _kx/_ke: per click, not per product)
_TRACKING = re.compile(r"^(utm_.*|gclid|fbclid|msclkid|mc_cid|mc_eid|_hsenc|_hsmi|mkt_tok|sc_.*|emc|ecid|trk.*|ref|cmp|"
                       r"campaign|_pos|_sid|_ss|_psq|_fid|_kx|_ke)$", re.I)


# A link with a scheme, a plain host and a path, nothing more ("https://www.shop.de/p/jacke-100001"):
# what nearly every feed item has. It normalises to the same string as the general path below
# without urlsplit, parse_qsl and urlencode, which took a fifth of a feed item's time (measured).
# (re.ASCII: no "ſ" for "s" in the scheme, as Unicode case folding would allow.)
_PLAIN_URL = re.compile(r"(?i:https?)://([A-Za-z0-9.-]+)(/[^?#\x00-\x20\x7f]*)?", re.ASCII)


def normalize_url(url: str | None) -> str | None:
    """A product link as a matching key: no tracking parameters, no fragment, lower-case host,
    no "www.", no trailing slash, http and https alike."""
    if not url or not url.strip():
        return None
    plain = _PLAIN_URL.fullmatch(url.strip())
    if plain and (host := plain[1].lower().removeprefix("www.")):
        return f"https://{host}{(plain[2] or '').rstrip('/')}"
    parts = urlsplit(url.strip())
    if not parts.netloc:
        return None
    host = parts.netloc.lower().removeprefix("www.")
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)))
    path = parts.path.rstrip("/") or ""
    return urlunsplit(("https", host, path, query, ""))


def normalize_gtin(text: str | None) -> str | None:
    """A GTIN/EAN as digits zero-padded to 14; None when empty or not a GTIN (wrong length, or a
    check digit that does not add up: a typo; a store's own restricted-circulation numbers excepted)."""
    if not text:
        return None
    if text.isascii() and text.isdigit():  # the common case, spared the regex (isdigit alone takes "²")
        return _checked(text.zfill(14)) if 8 <= len(text) <= 14 else None
    digits = re.sub(r"\s", "", text.strip())
    if digits.endswith(".0"):  # spreadsheets turn EANs into floats
        digits = digits[:-2]
    if not (digits.isascii() and digits.isdigit()) or not 8 <= len(digits) <= 14:
        return None
    return _checked(digits.zfill(14))


def gtin_check_digit(padded: str) -> int:
    """The GS1 check digit of a 14-digit GTIN's first 13 digits (weights 3, 1, 3, … from the left)."""
    total = 3 * sum(map(int, padded[0:13:2])) + sum(map(int, padded[1:13:2]))  # (a feed's hot path)
    return (10 - total % 10) % 10


def gtin_problem(text: str) -> str:
    """Why a non-empty text is not a GTIN, for a rejection: its length, or its check digit."""
    digits = re.sub(r"\s", "", text.strip()).removesuffix(".0")
    if digits.isascii() and digits.isdigit() and 8 <= len(digits) <= 14:
        return f"its check digit is {digits[-1]}, not {gtin_check_digit(digits.zfill(14))}"
    return "8 to 14 digits"


def restricted_circulation(padded: str) -> bool:
    """A number a store assigns itself (GS1 restricted circulation: EAN-13 2…, UPC 2…/4…, EAN-8 0…/2…),
    e.g. a weighed article's base code "2801954000000" whose price digits, check digit included, are
    filled in at the scale: kept as read, its check digit not judged."""
    return padded[1] == "2" or padded[1:3] in ("02", "04") or (padded[:6] == "000000" and padded[6] in "02")


def _checked(padded: str) -> str | None:
    return padded if restricted_circulation(padded) or gtin_check_digit(padded) == int(padded[13]) else None
