"""A claim's words read into terms (channels/claim_terms.py), and the newsletter adapter storing them
with the claim's window; "nur online" inside a product block is a claim about that product."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from unisono.channels import newsletter
from unisono.channels.claim_terms import parse_terms
from unisono.domain.config import ProjectConfig

BERLIN = ZoneInfo("Europe/Berlin")


def terms(text: str) -> dict:
    t = parse_terms(text, "EUR")
    return t.model_dump(exclude_defaults=True) if t else {}


@pytest.mark.parametrize("text, expected", [
    ("20 % auf alle Winterjacken", {"percent": Decimal(20), "scope": ["Winterjacken"]}),
    ("Black Friday: -30 % auf Outdoor-Jacken", {"percent": Decimal(30), "scope": ["Outdoor-Jacken"]}),
    ("Bis zu 50 % auf Schuhe und Stiefel – nur bis Sonntag",
     {"percent": Decimal(50), "up_to": True, "scope": ["Schuhe", "Stiefel"]}),
    ("Up to 40% off all coats", {"percent": Decimal(40), "up_to": True, "scope": ["coats"]}),
    ("20 % auf das gesamte Sortiment", {"percent": Decimal(20), "everything": True}),
    ("15% off everything", {"percent": Decimal(15), "everything": True}),
    ("10 € Rabatt auf alle Schuhe", {"amount": Decimal(10), "currency": "EUR", "scope": ["Schuhe"]}),
    ("-20 % sur tous les manteaux", {"percent": Decimal(20), "scope": ["manteaux"]}),
    ("Jusqu’à -50 % sur les chaussures", {"percent": Decimal(50), "up_to": True, "scope": ["chaussures"]}),
    ("-25 % op alle jassen", {"percent": Decimal(25), "scope": ["jassen"]}),
    ("Nur online: 20 % auf alle Winterjacken",
     {"percent": Decimal(20), "scope": ["Winterjacken"], "channels": ["shop"], "exclusivity": "online_only"}),
    ("20 % auf ausgewählte Winterjacken online und in allen Filialen",
     {"percent": Decimal(20), "scope": ["Winterjacken"], "selected": True, "channels": ["shop", "store"],
      "exclusivity": "all_stores"}),
    ("20 % auf alle Winterjacken – auch in allen Filialen",  # "auch": online too
     {"percent": Decimal(20), "scope": ["Winterjacken"], "channels": ["shop", "store"], "exclusivity": "all_stores"}),
    ("20 % on all coats in all stores",
     {"percent": Decimal(20), "scope": ["coats"], "channels": ["store"], "exclusivity": "all_stores"}),
])
def test_discount_claims(text, expected):
    assert terms(text) == {"type": "discount", **expected}


@pytest.mark.parametrize("text, threshold, currency", [
    ("Versandkostenfrei ab 49 €", "49", "EUR"),
    ("Kostenloser Versand ab 50,- €", "50", "EUR"),
    ("Free shipping on orders over $50", "50", "USD"),
    ("Livraison gratuite dès 60 €", "60", "EUR"),
    ("Versandkostenfrei!", "0", "EUR"),  # no minimum stated: free on every order, as a customer reads it
])
def test_shipping_thresholds(text, threshold, currency):
    assert terms(text) == {"type": "shipping", "threshold": Decimal(threshold), "currency": currency}


@pytest.mark.parametrize("text, expected", [
    ("Lieferung gegen Rechnung", {"type": "payment", "methods": ["invoice"]}),
    ("Bequem per PayPal oder Ratenkauf bezahlen", {"type": "payment", "methods": ["installments", "paypal"]}),
    ("Click & Collect: online bestellen, in der Filiale abholen", {"type": "service", "methods": ["click_collect"]}),
    ("0 % Finanzierung über 12 Monate", {"type": "payment", "methods": ["installments"]}),  # not a discount
    ("Made in Germany", {"type": "service", "methods": ["made_in_germany"]}),
    ("Kostenlose Rücksendung", {"type": "service", "methods": ["free_returns"]}),
    ("Auch in allen Filialen erhältlich", {"type": "exclusivity", "exclusivity": "all_stores", "channels": ["store"]}),
    ("Nur im Markt erhältlich", {"type": "exclusivity", "exclusivity": "store_only", "channels": ["store"]}),
])
def test_payment_service_and_exclusivity_claims(text, expected):
    assert terms(text) == expected


@pytest.mark.parametrize("text", ["100 % Baumwolle", "Jetzt anmelden!",
                                  "Lieferung in 2–3 Werktagen"])
def test_words_that_promise_nothing_checkable_have_no_terms(text):
    assert parse_terms(text, "EUR") is None


NEWSLETTER = """<html><body>
<p>20 % auf alle Winterjacken!</p>
<p>Versandkostenfrei ab 49 €</p>
<p>Gültig vom 27.11. bis 30.11.2026</p>
<table><tr>
<td><a href="https://shop.example/p/100201">Winterjacke Alpin</a><br>159,99 € <s>199,99 €</s></td>
<td><a href="https://shop.example/p/100401">Daunenweste</a><br>Nur online! 69,99 € <s>89,99 €</s></td>
</tr></table></body></html>"""


def test_the_newsletter_stores_terms_and_the_newsletters_window_with_its_claims(tmp_path):
    path = tmp_path / "bf-2026.html"
    path.write_text(NEWSLETTER, encoding="utf-8")
    read = newsletter.read(path, ProjectConfig(), datetime(2026, 11, 26, 6, tzinfo=BERLIN))
    claims = {c.kind: c for c in read.claims}
    assert set(claims) == {"discount", "shipping", "validity", "exclusivity"}
    discount = claims["discount"]
    assert discount.terms.scope == ["Winterjacken"] and discount.terms.percent == 20
    # the validity stated further down is the window of every claim of the newsletter
    assert (discount.valid_from, discount.valid_to) == (datetime(2026, 11, 27, tzinfo=BERLIN),
                                                        datetime(2026, 12, 1, tzinfo=BERLIN))
    assert claims["shipping"].valid_to == discount.valid_to
    vest = claims["exclusivity"]
    assert vest.text == "Daunenweste: Nur online" and vest.terms.exclusivity == "online_only"
    assert vest.terms.product == "https://shop.example/p/100401"  # the block's key: no sku, so its link
    assert "table" in vest.source.path


def test_promises_a_banner_separates_on_one_line_are_claims_of_their_own(tmp_path):
    path = tmp_path / "banner.html"
    path.write_text("<html><body><p>Versandkostenfrei ab 50 € · Bequem per Kauf auf Rechnung bezahlen</p>"
                    "<p>+++ 20 % auf alle Schuhe +++ Click &amp; Collect +++</p>"
                    '<div><a href="https://shop.example/p/1">Wanderschuh</a> 79,99 €</div></body></html>', encoding="utf-8")
    read = newsletter.read(path, ProjectConfig(), datetime(2026, 11, 26, 6, tzinfo=BERLIN))
    assert sorted((c.kind, c.text) for c in read.claims) == [
        ("discount", "20 % auf alle Schuhe"), ("payment", "Bequem per Kauf auf Rechnung bezahlen"),
        ("service", "Click & Collect"), ("shipping", "Versandkostenfrei ab 50 €")]
