"""Links in a newsletter: which lead to a product page, and where a click-tracked link leads.

Mail tools wrap every link in a redirect of their own (Klaviyo trk.klclick.com, Mailchimp
list-manage.com/track/click, Salesforce click.*, SendGrid, Awin ...). Where the redirect carries its
target, in a query parameter (`url=`, `u=`, `redirect=` ...), base64-encoded in a parameter or a path
segment, or percent-encoded in the path, the target is the link. Otherwise the redirect stays the
link: nothing is ever fetched.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from lxml.html import HtmlElement

from unisono.channels.parsing import normalize_url

_SOCIAL_HOSTS = re.compile(
    r"(?:^|\.)(?:facebook|fb|instagram|twitter|x|youtube|youtu|pinterest|tiktok|linkedin|xing|"
    r"whatsapp|snapchat|vimeo|threads|t|flickr|tumblr)\.(?:com|be|me|net)$|^(?:apps\.apple|play\.google)\.com$")
_BOILERPLATE = re.compile(  # in a link's text
    r"\b(?:unsubscribe|abmelden|abbestellen|austragen|opt-?out|impressum|imprint|datenschutz\w*|privacy|"
    r"im browser|browser ?ansehen|online-?version|web-?version|view (?:this email |it )?(?:in|online)|"
    r"view online|whitelist|weissen liste|weißen liste|preferences|einstellungen|agb|terms|kontakt|"
    r"contact|forward to a friend|weiterempfehlen)\b", re.I)
_BOILERPLATE_PATH_WORDS = {  # whole words of a link's path ("/content/whitelist-emails-de/")
    "unsubscribe", "abmelden", "abbestellen", "austragen", "optout", "impressum", "imprint",
    "datenschutz", "datenschutzerklaerung", "privacy", "agb", "terms", "kontakt", "contact",
    "whitelist", "preferences"}
CTA = re.compile(
    r"^(?:jetzt\b.*|.*\bshoppen\b.*|zum (?:produkt|artikel|angebot|shop)|mehr(?: erfahren| infos?| details)?|"
    r"details|ansehen|entdecken|kaufen|bestellen|vorbestellen|in den warenkorb|hier|shop now|buy now|buy|shop|"
    r"pre-?order(?: now)?|add to (?:cart|bag|basket)|je découvre|découvrir|voir|acheter|commander|"
    r"précommander|comprar|ver|scopri|acquista|bekijk|bestel|kup teraz|zobacz|"
    r"view(?: product| more| details)?|learn more|see more|read more|order now|get it|discover|more|"
    r"[>»→›]+)\W*$", re.I)
# Redirect links of mail tools that carry their target in a parameter: the product page counts.
_REDIRECT_PARAMS = ("url", "u", "redirect", "redirect_url", "redirecturl", "target", "dest",
                    "destination", "to", "link", "goto", "r", "l", "ued", "murl", "adurl", "continue",
                    "next", "return", "returnurl", "out", "href", "deeplink", "deep_link", "lp", "landing",
                    "landingpage", "data", "p", "q", "target_url", "targeturl", "redir")
_EMBEDDED = re.compile(r"https?(?::|%3A)(?:/|%2F){2}", re.I)
_B64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")


@dataclass
class Link:
    element: HtmlElement
    url: str  # normalised target (a redirect's target when it carries one)
    text: str
    has_image: bool


def is_boilerplate(text: str) -> bool:
    """Footer text: unsubscribe, imprint, privacy, "view in browser"."""
    return _BOILERPLATE.search(text) is not None


def product_link(el: HtmlElement) -> Link | None:
    """A link that may lead to a product page; None for mailto/tel/"#", unsubscribe, imprint,
    browser view, social networks and the shop's home page."""
    href = (el.get("href") or "").strip()
    target = unwrap(href)
    if not target.lower().startswith(("http://", "https://")):
        return None  # mailto:, tel:, "#", "[[unsubscribe]]" placeholders, relative links
    try:
        parts = urlsplit(target)
        url = normalize_url(target)
    except ValueError:  # "https://[broken": no link anyone can follow
        return None
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host or _SOCIAL_HOSTS.search(host):
        return None
    text = " ".join(el.text_content().split())
    path_words = set(re.split(r"[/\-_.]+", parts.path.lower()))
    if _BOILERPLATE.search(text) or path_words & _BOILERPLATE_PATH_WORDS:
        return None
    if url is None or not urlsplit(url).path.strip("/") and not urlsplit(url).query:
        return None  # the shop's home page (a logo)
    has_image = next(el.iter("img"), None) is not None
    return Link(el, url, text, has_image)


def unwrap(href: str) -> str:
    """The target of a click-tracking redirect where the link carries it; else the link itself."""
    for _ in range(3):  # redirects inside redirects
        inner = _target(href)
        if inner is None:
            return href
        href = inner
    return href


def _target(href: str) -> str | None:
    try:
        parts = urlsplit(href)
        query = parse_qsl(parts.query)
    except ValueError:
        return None
    for k, v in query:  # "?url=https://shop.example/p/1"
        if k.lower() in _REDIRECT_PARAMS and v.lower().startswith(("http://", "https://")):
            return v
    m = _EMBEDDED.search(parts.path, 1)  # "/redirect/https%3A%2F%2Fshop.example%2Fp%2F1"
    if m:
        return unquote(parts.path[m.start():] + ("?" + parts.query if parts.query else ""))
    for candidate in [v for _, v in query] + parts.path.split("/"):  # base64: "?data=aHR0cHM6Ly9..."
        decoded = _from_base64(candidate)
        if decoded:
            return decoded
    return None


def _from_base64(s: str) -> str | None:
    if not _B64.fullmatch(s) or not s.startswith("aHR0"):  # base64 of "http" starts "aHR0"
        return None
    try:
        raw = base64.urlsafe_b64decode(s.replace("+", "-").replace("/", "_") + "=" * (-len(s) % 4))
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    text = text.split()[0] if text.split() else ""
    return text if re.match(r"https?://[^/\s]+", text) and text.isprintable() else None

