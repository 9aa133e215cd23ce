"""A claim's words -> its terms (domain/claims.py): what the `claim` rule checks.

German and English first; French, Spanish, Italian, Dutch and Polish where the words are of the
same kind ("sur tous les", "en todos los", "su tutti i", "op alle", "na wszystkie"). A sentence
the parser cannot read into terms stays a claim without terms: kept, shown, never checked.
"""
from __future__ import annotations

import re
from decimal import Decimal

from unisono.channels.newsletter_prices import MONEY, parse_money
from unisono.domain.claims import ClaimTerms

_PERCENT = re.compile(r"(?<![\d,.])(\d{1,2}(?:[.,]\d+)?)\s?%")
_UP_TO = re.compile(r"\b(?:bis\s+zu|up\s+to|jusqu['’]?\s?[àa]|hasta(?:\s+un)?|fino\s+al?|tot|do)\s*-?\s*$", re.I)

_ONLINE_ONLY = re.compile(
    r"\b(?:nur\s+online|online[\s-]exklusiv|exklusiv\s+online|ausschlie(?:ß|ss)lich\s+online|online[\s-]only|"
    r"only\s+online|online[\s-]exclusive|exclusively\s+online|uniquement\s+en\s+ligne|exclusivement\s+en\s+ligne|"
    r"exclusivit[ée]\s+web|s[oó]lo\s+online|s[oó]lo\s+en\s+l[ií]nea|solo\s+on-?line|alleen\s+online|tylko\s+online)\b",
    re.I)
_STORE_ONLY = re.compile(
    r"\b(?:nur\s+(?:im\s+markt|in\s+(?:der|unseren|allen)\s+(?:filialen?|m[äa]rkten?)|im\s+gesch[äa]ft|in\s+der\s+filiale)|"
    r"(?:in[\s-]store|in\s+stores?)\s+only|only\s+in\s+(?:our\s+)?stores?|uniquement\s+en\s+magasin|"
    r"s[oó]lo\s+en\s+tiendas?|solo\s+in\s+negozio|alleen\s+in\s+de\s+winkels?|tylko\s+w\s+sklepach)\b", re.I)
_ALL_STORES = re.compile(
    r"\b(?:in\s+allen\s+(?:filialen|m[äa]rkten|h[äa]usern|gesch[äa]ften)|in\s+all\s+(?:our\s+)?stores|"
    r"dans\s+tous\s+(?:nos|les)\s+magasins|en\s+todas\s+(?:nuestras|las)\s+tiendas|in\s+tutti\s+i\s+(?:nostri\s+)?negozi|"
    r"in\s+al(?:le|onze)\s+winkels|we\s+wszystkich\s+sklepach)\b", re.I)
_ONLINE = re.compile(r"\b(?:online|im\s+(?:online-?)?shop|onlineshop|webshop|en\s+ligne|en\s+l[ií]nea|sur\s+le\s+site)\b",
                     re.I)
_ALSO = re.compile(r"\b(?:auch|ebenfalls|also|as\s+well|too|aussi|tambi[ée]n|anche|ook|r[óo]wnie[żz])\b", re.I)
_STORES = re.compile(r"\b(?:filialen?|m[äa]rkten?|im\s+markt|stores?|in-store|magasins?|tiendas?|negozi[o]?|winkels?|"
                     r"sklep(?:ach|ie|y)?)\b", re.I)

_FREE_SHIPPING = re.compile(
    r"versandkostenfrei|versandfrei|portofrei|(?:kostenlose[rn]?|gratis)[\s-]+(?:versand|lieferung)|"
    r"free\s+(?:shipping|delivery)|livraison\s+(?:gratuite|offerte)|env[ií]o\s+(?:gratis|gratuito)|"
    r"spedizione\s+gratuita|gratis\s+(?:verzending|bezorging)|darmowa\s+(?:dostawa|wysy[łl]ka)", re.I)

_PAYMENT = (
    ("invoice", r"(?:kauf\s+)?auf\s+rechnung|rechnungskauf|gegen\s+rechnung|pay\s+(?:by\s+invoice|later)|invoice|"
                r"paiement\s+sur\s+facture|op\s+rekening|achteraf\s+betalen"),
    ("installments", r"ratenzahlung|ratenkauf|in\s+raten|finanzierung|0\s?%\s+finanzierung|installments?|instalments?|"
                     r"paiement\s+en\s+\d+\s+fois|a\s+plazos|a\s+rate|raty"),
    ("paypal", r"paypal"),
    ("klarna", r"klarna"),
    ("credit_card", r"kreditkarte|credit\s+card|carte\s+bancaire|tarjeta"),
    ("direct_debit", r"lastschrift|sepa|direct\s+debit"),
    ("prepayment", r"vorkasse|prepayment"),
    ("cash_on_delivery", r"nachnahme|cash\s+on\s+delivery|contre-remboursement|contrarrembolso"),
    ("apple_pay", r"apple\s?pay"),
    ("google_pay", r"google\s?pay"),
)
_SERVICES = (
    ("click_collect", r"click\s?(?:&|and|\+|und)\s?collect|click&collect|im\s+markt\s+abholen|abholung\s+im\s+markt|"
                      r"(?:online\s+bestellen,?\s+)?in\s+der\s+filiale\s+abholen|retrait\s+en\s+magasin|"
                      r"recogida\s+en\s+tienda|ritiro\s+in\s+negozio"),
    ("free_returns", r"kostenlose[rn]?\s+(?:rücksendung|rückversand|retoure)|gratis\s+(?:rücksendung|retoure)|"
                     r"free\s+returns?|retours?\s+gratuits?|devoluci[oó]n\s+gratuita|reso\s+gratuito"),
    ("made_in_germany", r"made\s+in\s+germany|hergestellt\s+in\s+deutschland"),
    ("reserve_online", r"online\s+reservieren|reserve\s+online|r[ée]server\s+en\s+ligne"),
    ("express_delivery", r"expresslieferung|expressversand|express\s+(?:delivery|shipping)|livraison\s+express"),
    ("assembly", r"montageservice|aufbauservice|assembly\s+service"),
)
_METHODS = [(name, re.compile(rf"\b(?:{words})\b", re.I)) for name, words in (*_PAYMENT, *_SERVICES)]
_PAYMENT_NAMES = {name for name, _ in _PAYMENT}

# "auf alle Winterjacken", "on all shoes", "sur tous les manteaux": the preposition, a quantifier
_SCOPE = re.compile(
    r"\b(?:auf|für|on|off|sur|en|su|op|na|for)\s+"
    r"(?P<quant>(?:(?:alle[sn]?|all|every|tous|toutes|tout|todos|todas|todo|tutti|tutte|tutto|wszystkie|wszystko|"
    r"unsere?|our|nos|das\s+gesamte|den\s+gesamten|die\s+gesamte|the\s+whole|the\s+entire|ausgewählte[n]?|selected|"
    r"select|sélectionnés?|seleccionados|selezionati|geselecteerde|wybrane)\s+)*)"
    r"(?:(?:die|der|das|den|the|les|le|la|los|las|i|gli|le|de|het)\s+)?"
    r"(?P<rest>.*)", re.I)
_EVERYTHING_WORDS = re.compile(
    r"^(?:alles|everything|anything|tout|todo|tutto|wszystko|sortiment|gesamtsortiment|artikel|produkte|waren|items?|"
    r"products?|articles?|produits?|productos?|prodotti|artikelen|produkty|orders?|bestellungen|site|shop|store)\b", re.I)
_SITEWIDE = re.compile(r"\b(?:sitewide|storewide|site-wide|auf\s+alles|on\s+everything|sur\s+tout(?:\s+le\s+site)?|"
                       r"en\s+todo|su\s+tutto|op\s+alles|na\s+wszystko|gesamte[sn]?\s+sortiment)\b", re.I)
_SELECTED = re.compile(r"\b(?:ausgewählte[n]?|selected|select|sélectionnés?|seleccionados|selezionati|geselecteerde|"
                       r"wybrane)\b", re.I)
# where the scope's words end: punctuation, a date or amount, or words about time, channel, code
_SCOPE_END = re.compile(
    r"[,.!;:–—()|*\"„“”]|\s-\s|\d|\b(?:bis|gültig|nur|im|in|ab|mit|beim|bei|vom|von|solange|ausser|außer|online|"
    r"until|till|valid|only|at|with|from|while|except|code|jusqu|dans|valable|hasta|válido|fino|valido|tot|geldig|"
    r"do|ważne|sowie|plus)\b", re.I)
_AND = re.compile(r"\s+(?:und|and|&|et|y|e|en|i|oraz)\s+|\s*/\s*", re.I)
_MAX_SCOPE_WORDS = 4


def parse_terms(text: str, currency: str) -> ClaimTerms | None:
    """The terms of one sentence, or None when it promises nothing the rule can check.
    currency: for amounts whose currency the text does not name."""
    text = " ".join(text.split())
    if (terms := _discount(text, currency)) is not None:
        return terms
    if _FREE_SHIPPING.search(text):
        money = _money(text, currency)
        return ClaimTerms(type="shipping", threshold=money[0] if money else Decimal(0),
                          currency=money[1] if money else currency)
    methods = [name for name, pattern in _METHODS if pattern.search(text)]
    if payment := [m for m in methods if m in _PAYMENT_NAMES]:
        return ClaimTerms(type="payment", methods=payment)
    if methods:
        return ClaimTerms(type="service", methods=methods)
    if (exclusive := exclusivity(text)) is not None:
        return ClaimTerms(type="exclusivity", exclusivity=exclusive, channels=_named_channels(text))
    return None


def exclusivity(text: str) -> str | None:
    """"nur online" -> online_only, "nur im Markt" -> store_only, "in allen Filialen" -> all_stores."""
    if _ONLINE_ONLY.search(text):
        return "online_only"
    if _STORE_ONLY.search(text):
        return "store_only"
    if _ALL_STORES.search(text):
        return "all_stores"
    return None


def block_claim(text: str, product: str | None) -> tuple[ClaimTerms, str] | None:
    """A product block's "nur online" / "in allen Filialen": a claim about that product, and its words."""
    if not product:
        return None
    for name, pattern in (("online_only", _ONLINE_ONLY), ("store_only", _STORE_ONLY), ("all_stores", _ALL_STORES)):
        if m := pattern.search(text):
            return ClaimTerms(type="exclusivity", exclusivity=name, product=product), m.group(0)
    return None


def _discount(text: str, currency: str) -> ClaimTerms | None:
    percent = _PERCENT.search(text)
    amount = None
    if percent is None:
        money = MONEY.search(text)
        # money off needs the words of a reduction around it ("10 € Rabatt auf alle Schuhe")
        if money is None or not re.search(r"\b(?:rabatt|off|sparen|spare|reduziert|remise|descuento|sconto|korting|"
                                          r"rabat|weniger|günstiger)\b", text, re.I):
            return None
        if _FREE_SHIPPING.search(text) or re.search(r"\bab\s*$|\bover\s*$|\bfrom\s*$", text[:money.start()], re.I):
            return None  # a threshold, not money off
        amount = parse_money(money.group(0), currency)
        if amount is None:
            return None
    after = text[(percent or money).end():]
    if percent is not None and not _SCOPE.search(after) and not _SITEWIDE.search(text) \
            and not re.search(r"\b(?:rabatt|off|sale|reduziert|discount|remise|descuento|sconto|korting|rabat)\b",
                              text, re.I):
        return None  # a percentage that is not a reduction ("100 % Baumwolle", "0 % Finanzierung")
    if percent is not None and re.search(r"finanzierung|financing|baumwolle|cotton|wolle|recycelt|recycled", text,
                                         re.I):
        return None
    scope, everything = _scope_words(after)
    terms = ClaimTerms(
        type="discount",
        percent=Decimal(percent.group(1).replace(",", ".")) if percent else None,
        amount=amount[0] if amount else None, currency=amount[1] if amount else None,
        up_to=bool(_UP_TO.search(text[:(percent or money).start()])),
        scope=scope, everything=everything or bool(_SITEWIDE.search(text)),
        selected=bool(_SELECTED.search(text)), channels=_named_channels(text), exclusivity=exclusivity(text),
    )
    if terms.exclusivity == "all_stores" and _ALSO.search(text):
        terms.channels = ["shop", "store"]  # "auch in allen Filialen": online and in every store
    return terms


def _scope_words(after: str) -> tuple[list[str], bool]:
    """The words naming what a discount covers, and whether it covers everything."""
    m = _SCOPE.search(after)
    if m is None:
        return [], False
    rest = m.group("rest")
    end = _SCOPE_END.search(rest)
    phrase = (rest[:end.start()] if end else rest).strip()
    if not phrase or _EVERYTHING_WORDS.match(phrase):
        # "auf alles", "auf alle Artikel", "auf das gesamte Sortiment"
        return [], bool(m.group("quant").strip()) or bool(_EVERYTHING_WORDS.match(phrase or ""))
    words = []
    for part in _AND.split(phrase):
        tokens = part.split()[:_MAX_SCOPE_WORDS]
        if tokens:
            words.append(" ".join(tokens))
    return words, False


def _named_channels(text: str) -> list[str]:
    channels = []
    if _ONLINE.search(text) or _ONLINE_ONLY.search(text):
        channels.append("shop")
    if _STORES.search(text) or _ALL_STORES.search(text) or _STORE_ONLY.search(text):
        channels.append("store")
    return channels


def _money(text: str, currency: str) -> tuple[Decimal, str] | None:
    m = MONEY.search(text)
    return parse_money(m.group(0), currency) if m else None
