"""Prices in a newsletter's text: where they are, in which currency, and what each one is.

A price mention is one of: the price the customer pays ("price"), a former / struck-through /
"statt" price ("reference"), the EU "lowest price of the last 30 days" line ("lowest"), or money
that is no product's price ("other": thresholds, vouchers, gift cards, savings, unit prices).

Forms read: "79,99 €", "€79.99", "EUR 79.99", "74.99 Fr.", "CHF 1'299.00", "1 865,00 €" (space,
no-break or thin space as thousands separator), "Rs. 3,239", "₹1,299", "in just Rs.1908", and
prices without a currency sign ("3,99*", "UVP 5,99", "MSRP 2,113.75", a number alone on its line)
in the currency the email states ("Alle Preise in Euro"), else the one its other prices show, else
the project's.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from unisono.channels.parsing import parse_percent

if TYPE_CHECKING:
    from unisono.channels.newsletter_blocks import Doc

# currency tokens -> ISO code (case-insensitive lookup of the token as written)
_SYMBOLS = {
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "$": "USD", "us$": "USD", "usd": "USD",
    "£": "GBP", "gbp": "GBP", "fr.": "CHF", "sfr.": "CHF", "sfr": "CHF", "chf": "CHF", "₹": "INR",
    "rs.": "INR", "rs": "INR", "inr": "INR", "a$": "AUD", "aud": "AUD", "c$": "CAD", "cad": "CAD",
    "r$": "BRL", "brl": "BRL", "¥": "JPY", "jpy": "JPY", "₪": "ILS", "ils": "ILS", "kr": "SEK",
    "kr.": "DKK", "sek": "SEK", "nok": "NOK", "dkk": "DKK", "zł": "PLN", "pln": "PLN", "kč": "CZK",
    "czk": "CZK", "ft": "HUF", "huf": "HUF", "lei": "RON", "ron": "RON", "nzd": "NZD", "zar": "ZAR",
    "sgd": "SGD", "hkd": "HKD", "aed": "AED", "mxn": "MXN", "try": "TRY", "cny": "CNY",
}
_ISO = r"EUR|USD|GBP|CHF|INR|AUD|CAD|BRL|JPY|ILS|SEK|NOK|DKK|PLN|CZK|HUF|RON|NZD|ZAR|SGD|HKD|AED|MXN|CNY"
_CUR_BEFORE = rf"(?:(?<![A-Za-z])(?:{_ISO}|US\$|A\$|C\$|R\$|SFr\.?|Fr\.|Rs\.?)|[€$£₹¥₪])"
_CUR_AFTER = rf"(?:[€$£₹¥₪]|(?:{_ISO}|Euros?|SFr\.?|Fr\.|zł|Kč|kr\.?|Ft|lei)(?![A-Za-z]))"
# a number: thousands grouped by . , ' ’ or a space ("1 865,00": the text's spaces are normalised)
_NUM = (r"\d{1,3}(?:[.,'’]\d{3})+(?:[.,](?:\d{1,2}|[-–]{1,2}))?(?!\d)"
        r"|\d{1,3}(?: \d{3})+(?:[.,]\d{2}(?!\d)|(?=\s?" + _CUR_AFTER + "))"
        r"|\d+(?:[.,](?:\d{1,2}|[-–]{1,2}))?(?!\d)")
MONEY = re.compile(
    # "€79.99", "EUR 79.99", "Rs.1908" ("Fr. 24.11." is a Friday, not a price)
    rf"{_CUR_BEFORE}\s?(?!\d{{1,2}}\.\d{{1,2}}\.)(?:{_NUM})"
    # "79,99 €", "74.99 Fr.", "1 865,00 €" (the number may follow "Fr." of a previous price directly)
    # not the tail of "1 865,00 €", but after a name's digits ("Sony WH-1000XM5 49,99 €")
    rf"|(?<!\d)(?<!\d[.,])(?:(?<!\d )|(?<=[^\W\d_]\d )|(?<=[^\W\d_]\d\d )|(?<=[^\W\d_]\d\d\d ))"
    rf"(?:{_NUM})\s?{_CUR_AFTER}"
)
# A price without a currency sign: always with cents ("3,99", "2,113.75") or ",-"; never a date,
# a time, a percentage, a version or a measure.
_BARE = re.compile(
    r"(?<![\w.,/:%+-])(\d{1,3}(?:[.,'’]\d{3})*[.,]\d{2}|\d+[.,][-–]{1,2})"
    r"(?![\d%]|[.,]\d|\.|\s?%|\s?(?:uhr|h|am|pm|kg|g|l|ml|cl|cm|mm|m|m²|qm|km|gb|tb|mb|x)\b)", re.I)
_BARE_LABEL_BEFORE = re.compile(
    r"\b(?:nur|only|just|now|jetzt|ab|from|dès|desde|da|vanaf|od|für|for|pour|por|per|preis|price|prix|"
    r"precio|prezzo|prijs|cena|our price|sale|angebot|aktion\w*|sonderpreis|stückpreis)\W*$", re.I)
_FOOTNOTE_AFTER = re.compile(r"^\s?(?:\*+|[¹²³⁴⁵⁶⁷⁸⁹]|\(\d\))")

# What stands before a price tells what it is ("statt 99,99 €", "Versandkostenfrei ab 50 €").
_REF_WORDS = (r"statt|anstatt|uvp|vorher|bisher|zuvor|ursprünglich|regulär|normalpreis|originalpreis|"
              r"streichpreis|alter preis|was|instead of|rrp|msrp|mrp|reg\.|regular(?: price)?|list price|"
              r"compare at|original(?:ly)?|au lieu de|prix de référence|prix d'origine|à l'origine|avant|"
              r"antes|precio anterior|invece di|prezzo di riferimento|van|zamiast|cena regularna")
_REF_BEFORE = re.compile(rf"(?<![^\W\d_])(?:{_REF_WORDS})\W*$", re.I)
# A manufacturer's recommended price is shown like a former price but is none (PAngV §11).
_LIST_PRICE_BEFORE = re.compile(r"\b(?:uvp|unverbindliche preisempfehlung|rrp|msrp|mrp|list price)\W*$", re.I)
# The EU Omnibus line: the lowest price of the last 30 days, stated beside a reduction.
_LOWEST_BEFORE = re.compile(
    r"(?:niedrigste[rn]?\s+(?:gesamt)?preis|tiefstpreis|bestpreis|dernier prix le plus bas|prix le plus bas|"
    r"lowest (?:total )?price|lowest prior price|30[- ]day low|precio más bajo|prezzo più basso|"
    r"laagste prijs|najniższa cena)[^€$£\n]{0,45}$", re.I)
_LINKING = (r"(?:ab|von|über|bis|zu|jetzt|nur|schon|mind\.|mindestens|einem|einen|ihrem|deinem|im|wert|für|bei|"
            r"sie|du|ihr|satte|sogar|extra|zusätzlich|insgesamt|weitere|"
            r"for|of|from|at|up|to|just|only|now|you|a|an|de|des|dès|à partir de|à|jusqu'à|"
            r"free|gratis|kostenlos\w*)")  # words between such a word and its amount
_OTHER_MONEY_BEFORE = re.compile(  # thresholds, savings, vouchers: money, but no product's price
    r"\b(?:versand\w*|\w*versand|liefer\w*|shipping|delivery|porto|\w*bestellwert|mindest\w*|einkauf\w*|"
    r"orders?|über|over|spare|sparen|sparst|spar|save|you save|gutschein\w*|voucher|coupon|rabatt|"
    r"gift ?cards?|e-?gift\w*|geschenkkarte\w*|carte cadeau|cartes cadeaux|tarjetas? regalo|buono regalo|"
    r"cadeaukaart\w*|karta podarunkowa|guthaben|bonus|geschenk\w*)"
    # near the amount: "Versandkostenfrei ab 49 €", "Spare jetzt bis zu 20 €"; a name that holds such a
    # word ("Versandtasche gepolstert 4,99 €", "Geschenkset Kettenpflege") is a product's
    rf"\b(?:\W+{_LINKING})*\W*$"
    # directly before the amount only ("Under Armour Hoodie $49" is a product)
    r"|\b(?:minimum|min\.|spend|purchases?(?: of)?|under|unter|sous|moins de|below|win|gewinne\w*|gagnez|"
    r"prize|worth|im wert von|valued at|d'une valeur de|credit|cashback|reward)"
    r"\W*(?:a |an |de |von |of |free |gratis |kostenlos\w* )*$", re.I)
_OTHER_MONEY_AFTER = re.compile(
    r"^\s*(?:rabatt|off|\w*gutschein\w*|sparen|ersparnis|discount|mindestbestellwert|bestellwert|"
    r"einkaufswert|geschenkt|bonus|gift ?cards?|e-?gift|voucher|coupon|credit|store credit|cashback|"
    r"bon d'achat|carte cadeau|de réduction|minimum|or more|und mehr|oder mehr|\+|purchase)\b", re.I)
# "-10 €", "−9,99 €": money taken off, no price (a spaced dash, "Jacke – 79,99 €", separates a name)
_MINUS_BEFORE = re.compile(r"(?:^|[\s(])[-−–]$")
# "= 5,99 €", "je 1,99 €", "Grundpreis: 9,99 €": a unit price; "je", "pro", "per" in lower case only
# (a name ends in "Pro": "AirPods Pro 199 €")
_UNIT_BEFORE = re.compile(r"(?:=|\b(?-i:je|pro|per)|(?i:grundpreis):?)\s*$")
_UNIT_AFTER = re.compile(
    r"^\s*(?:/|pro\b|je\b|per\b)\s*\d*[.,]?\d*\s*(?:kg|g|l|ml|cl|m|m²|m2|qm|stk\.?|stück|st\.|piece|unit)\b", re.I)
# "Alle angegebenen Preise in Euro", "All prices in USD", "Tous les prix sont en euros"
_STATED_CURRENCY = re.compile(
    r"\b(?:(?:alle\s+)?(?:angegebenen\s+)?preise|(?:all\s+)?prices|(?:tous\s+les\s+)?prix|precios|prezzi|"
    r"prijzen|ceny)\b[^.\n]{0,40}?\b(?:in|en|sont en|are in|in der währung)\s+"
    r"(euros?|eur|us-?dollars?|dollars?|usd|chf|schweizer franken|francs suisses|pfund|pounds?|gbp|"
    r"rupees|inr|sek|nok|dkk|pln|złotych|czk)\b", re.I)
_STATED = {"euro": "EUR", "euros": "EUR", "eur": "EUR", "dollar": "USD", "dollars": "USD", "usd": "USD",
           "us-dollar": "USD", "us-dollars": "USD", "usdollar": "USD", "usdollars": "USD", "chf": "CHF",
           "schweizer franken": "CHF", "francs suisses": "CHF", "pfund": "GBP", "pound": "GBP",
           "pounds": "GBP", "gbp": "GBP", "rupees": "INR", "inr": "INR", "sek": "SEK", "nok": "NOK",
           "dkk": "DKK", "pln": "PLN", "złotych": "PLN", "czk": "CZK"}


@dataclass
class Price:
    start: int
    end: int
    text: str
    amount: Decimal
    currency: str
    role: str  # "price", "reference" (struck / "statt"), "lowest" (30-day lowest), "other"
    list_price: bool = False  # a reference labelled "UVP"/RRP: the manufacturer's price, not a former one
    label: str = ""  # the words before it that decided its role ("Dernier prix le plus bas :")


def has_money(text: str) -> bool:
    return MONEY.search(text) is not None


def parse_amount(number: str) -> Decimal | None:
    """"1.299,00", "1,299.00", "1 865,00", "3,239" (a single separator before three digits groups
    thousands), "19,-" -> Decimal; None if it is no amount."""
    s = re.sub(r"[\s'’\u00a0\u202f\u2009]", "", number).replace("–", "-")
    s = re.sub(r"[.,]-{1,2}$", "", s)
    if not s or not s[0].isdigit():
        return None
    last_dot, last_comma = s.rfind("."), s.rfind(",")
    last = max(last_dot, last_comma)
    if last >= 0 and len(s) - last - 1 == 3 and (s.count(s[last]) > 1 or "." not in s or "," not in s):
        s = s.replace(".", "").replace(",", "")  # "3,239", "1.299", "1.299.000": thousands only
    elif last >= 0:
        dec = s[last]
        s = s[:last].replace(".", "").replace(",", "") + "." + s[last + 1:]
        if dec not in ".,":
            return None
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def parse_money(text: str, default: str) -> tuple[Decimal, str] | None:
    """A price as MONEY matched it: amount and ISO currency (`default` when it names none)."""
    m = re.search(rf"{_CUR_BEFORE}|{_CUR_AFTER}", text)
    num = re.search(r"\d[\d.,'’ \u00a0\u202f\u2009]*(?:[.,][-–]{1,2})?", text[m.end():] if m and m.start() == 0 else text)
    if num is None:
        return None
    amount = parse_amount(num.group(0).strip())
    if amount is None:
        return None
    cur = _SYMBOLS.get(m.group(0).strip().lower(), m.group(0).strip().upper()) if m else default
    return amount, cur


def stated_currency(text: str) -> str | None:
    """The currency an email states for all its prices ("Alle angegebenen Preise in Euro")."""
    m = _STATED_CURRENCY.search(text)
    return _STATED.get(" ".join(m.group(1).lower().split())) if m else None


def find_prices(doc: Doc, currency: str) -> list[Price]:
    """Every price mention in the document's text, in order, with its role. `currency` is the
    project's: prices without a sign take the email's stated currency, else the one its signed
    prices show (if they show one), else this."""
    text = doc.text
    found = [(m.start(), m.end(), parse_money(m.group(0), currency)) for m in MONEY.finditer(text)]
    found = [(s, e, p) for s, e, p in found if p is not None]
    signed = Counter(p[1] for _, _, p in found)
    bare_currency = stated_currency(text) or (signed.most_common(1)[0][0] if len(signed) == 1 else currency)
    taken = [(s, e) for s, e, _ in found]
    for m in _BARE.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        if _bare_is_price(text, m):
            amount = parse_amount(m.group(1))
            if amount is not None:
                found.append((m.start(1), m.end(1), (amount, bare_currency)))
    found.sort(key=lambda f: f[0])

    prices: list[Price] = []
    prev_end = 0
    for i, (start, end, (amount, cur)) in enumerate(found):
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        line_end = len(text) if line_end < 0 else line_end
        next_start = found[i + 1][0] if i + 1 < len(found) else line_end
        before = text[max(line_start, prev_end, start - 60):start]
        if not before.strip(" :") and line_start > prev_end:  # "Dernier prix le plus bas :" on the line above
            above = [ln for ln in text[max(prev_end, line_start - 80):line_start].split("\n") if ln.strip()]
            before = (above[-1] if above else "") + " " + before
        after = text[end:min(line_end, next_start, end + 40)]
        prev_end = end
        if _UNIT_BEFORE.search(before) or _UNIT_AFTER.match(after) or _MINUS_BEFORE.search(before):
            role = "other"
        elif _LOWEST_BEFORE.search(before):
            role = "lowest"
        elif _is_struck(doc, start) or _REF_BEFORE.search(before):
            role = "reference"
        elif _OTHER_MONEY_BEFORE.search(before) or _OTHER_MONEY_AFTER.match(after):
            role = "other"
        else:
            role = "price"
        prices.append(Price(start, end, text[start:end], amount, cur, role,
                            list_price=role == "reference" and bool(_LIST_PRICE_BEFORE.search(before)),
                            label=" ".join(before.split())))
    return prices


def _bare_is_price(text: str, m: re.Match) -> bool:
    """A number without a currency is a price only where a price stands: after a price word
    ("UVP 5,99", "nur 3,99"), with a footnote mark ("3,99*"), or alone on its line."""
    line_start = text.rfind("\n", 0, m.start()) + 1
    line_end = text.find("\n", m.end())
    line_end = len(text) if line_end < 0 else line_end
    before = text[max(line_start, m.start() - 40):m.start()]
    after = text[m.end():line_end]
    if _FOOTNOTE_AFTER.match(after) or not (before.strip() or after.strip(" *")):
        return True
    return bool(_REF_BEFORE.search(before) or _BARE_LABEL_BEFORE.search(before) or _LOWEST_BEFORE.search(before))


_STRUCK_TAGS = {"s", "del", "strike"}


def _is_struck(doc: Doc, offset: int) -> bool:
    el = doc.owner(offset)
    while el is not None and el.tag not in ("body", "html"):
        if el.tag in _STRUCK_TAGS:
            return True
        if "line-through" in (el.get("style") or "").lower():
            return True
        if doc.struck_classes and doc.struck_classes.intersection((el.get("class") or "").split()):
            return True
        el = el.getparent()
    return False


BADGE = re.compile(
    r"[-–−]\s?\d{1,2}(?:[.,]\d+)?\s?%"  # "-20 %"
    r"|\d{1,2}(?:[.,]\d+)?\s?%\s*(?:rabatt|off|reduziert|günstiger|sparen|weniger|extra|de réduction)", re.I)


def discount_badge(text: str) -> Decimal | None:
    """A "-20 %" / "20 % Rabatt" badge in a block's text (not "95 % Baumwolle")."""
    m = BADGE.search(text)
    return parse_percent(m.group(0)) if m else None
