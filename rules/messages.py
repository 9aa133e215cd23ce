"""Wording shared by the rule kinds: how offers and dates are named, and message templates.

A rule's `message` is a template with {sku}, {title}, {rule} and {<channel>.<field>} (plus
{<channel>.location}) placeholders. It is filled by looking each placeholder up as a whole name
in a dict of strings: no attribute or index access, no conversions, no format specs, so a
template like "{x.__class__}" can do nothing but fail validation.
"""
from __future__ import annotations

import difflib

import string
from datetime import datetime
from zoneinfo import ZoneInfo

from unisono.domain.models import as_utc

TEMPLATE_BASICS = ("sku", "title", "rule")


def offer_name(channel: str, location: str) -> str:
    """"the shop", "Store 1042", "Newsletter bf-2026": what a merchandiser calls the offer's place."""
    if channel == "shop":
        return "the shop" if location in ("online", "", None) else f"the shop ({location})"
    if location in (channel, "", None):  # a newsletter file simply called newsletter.html
        return f"the {channel}"
    return f"{channel.capitalize()} {location}"


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def sentence(text: str) -> str:
    """Capitalised, with one full stop (a clause ending in a date like "20.11." has it already)."""
    text = capitalized(text)
    return text if text.endswith(".") else text + "."


def possessive(name: str) -> str:
    return f"{name}'s"


def short_instant(instant: datetime, tz: ZoneInfo) -> str:
    """"20.11." (or "20.11. 10:00" when not midnight) in the project's time zone."""
    local = as_utc(instant).astimezone(tz)
    text = local.strftime("%d.%m.")
    if (local.hour, local.minute) != (0, 0):
        text += local.strftime(" %H:%M")
    return text


def template_names(channels: list[str], fields: list[str]) -> list[str]:
    names = list(TEMPLATE_BASICS)
    for ch in dict.fromkeys(channels):
        names += [f"{ch}.{f}" for f in [*fields, "location"]]
    return names


def check_template(template: str, channels: list[str], fields: list[str]) -> None:
    """Raise ValueError unless every placeholder is a plain known name."""
    allowed = template_names(channels, fields)
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as e:
        raise ValueError(f"message template is malformed: {e} (write {{{{ and }}}} for literal braces)") from None
    unknown = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if conversion or spec:
            written = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise ValueError(f"message placeholder {{{written}}} may not have a conversion or format; write just {{{name}}}")
        if name not in allowed and name not in unknown:
            unknown.append(name)
    if unknown:  # every one at once: an author fixes them in one go
        examples = [n for n in allowed if "." not in n or n.endswith((".price", ".effective_price", ".location"))]
        shown = ", ".join("{" + n + "}" for n in examples)
        named = ", ".join("{" + n + "}" for n in unknown)
        raise ValueError(f"unknown message placeholder{'s' if len(unknown) > 1 else ''} {named} (use {shown}, "
                         "or another channel.field of the rule)")


def fill_template(template: str, values: dict[str, str]) -> str:
    out = []
    for literal_text, name, _, _ in string.Formatter().parse(template):
        out.append(literal_text)
        if name is not None:
            out.append(values.get(name, "?"))
    return "".join(out)


FIELD_LABELS = {
    "price": "regular price",
    "sale_price": "sale price",
    "effective_price": "price",
    "reference_price": "reference price",
    "discount_percent": "discount",
    "lowest_30d": "30-day lowest price",
}


def field_label(field: str) -> str:
    return FIELD_LABELS.get(field, field.replace("_", " "))


def did_you_mean(word: str, choices) -> str:
    """ " (did you mean 'parity'?)" for a near miss ("parrity", "tolerence", "chanels", a rule id or a
    store typed on the command line), else "". The one helper for every such message."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""
