"""What a refused channel file looks like, for the line that refuses it: another channel's file
("did you mean `unisono publish shop feed.xml`?"), or a file no channel reads (an XML price list, a
Shopify product export), said as such rather than pointed at a channel that would refuse it too."""
from __future__ import annotations

import codecs
import re
from pathlib import Path

# what each channel reads, for a file that is none of them
READS = {
    "shop": "the shop's Google Merchant Center feed (XML <rss>/<feed>, or its tab-separated form)",
    "store": "store prices as CSV, one row per store and product",
    "newsletter": "the newsletter's HTML",
}


def _text(file: Path) -> str:
    with file.open("rb") as f:
        head = f.read(8192)
    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if head.startswith(bom):
            return head.decode(encoding, errors="replace").lstrip("\ufeff \t\r\n")
    return head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")


def _root(text: str) -> str | None:
    """The first element's name after the prolog, comments and doctype."""
    # a DOCTYPE's internal subset ([<!ENTITY …>]) holds ">" of its own
    m = re.match(r"(?:\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^>\[]|\[.*?\])*>))*\s*<([A-Za-z_][\w:.-]*)", text, re.S)
    return m.group(1) if m else None


def looks_like(file: Path) -> tuple[str, str | None]:
    """(what the file looks like, the channel that reads it, or None when none does)."""
    text = _text(file)
    lower = text.lower()
    if lower.startswith("<!doctype html") or "<html" in lower[:2048]:
        return "an HTML page", "newsletter"
    if text.startswith("<"):
        root = _root(text)
        if root and root.split(":")[-1].lower() in ("rss", "feed"):
            return "a product feed (XML)", "shop"
        if root and root.split(":")[-1].lower() == "promotions":
            return "the shop's promotions feed (XML)", "shop"
        return f"an XML document <{root or '?'}>, not a product feed (<rss> or <feed>) nor a CSV price list", None
    header = {h.strip().strip('"').lower() for h in re.split(r"[,;\t|]", text.split("\n", 1)[0])}
    if "handle" in header and any(h.startswith("variant ") for h in header):
        return "a Shopify product export (Handle, Variant Price, …), not a feed or a price list", None
    return "a CSV/text file", "store"


def wrong_channel_hint(channel: str, file: Path) -> str | None:
    """When a file is refused, say so if it looks like another channel's file, or like none."""
    if not file.stat().st_size:
        return None
    looks, meant = looks_like(file)
    if meant == channel:
        return None
    if meant is None:
        advice = "for the shop, publish its Google Merchant Center feed" if "Shopify" in looks else \
            f"unisono reads {READS[channel]}"
        return f"this looks like {looks}: {advice}"
    return f"this looks like {looks}: did you mean `unisono publish {meant} {file.name}`?"
