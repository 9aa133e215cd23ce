"""End to end, as a new user tries it: a Black Friday newsletter whose words promise "20 % auf alle
Winterjacken", "Versandkostenfrei ab 49 €", PayPal, and "nur online" on a vest, against a shop feed
and a store price file, with the shop's real threshold (50 €) in unisono.yaml and the default rules."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from unisono.cli.main import cli

JACKETS = [("100201", "Winterjacke Alpin", "199.99", "159.99"), ("100202", "Winterjacke Nord", "149.99", "119.99"),
           ("100203", "Winterjacke Berg", "99.99", "79.99"), ("100204", "Winterjacke Tal", "249.99", "199.99")]
VEST = ("100401", "Daunenweste", "89.99", "69.99")


def run(*args: str, project: Path):
    return CliRunner().invoke(cli, list(args), env={"UNISONO_PROJECT": str(project)}, catch_exceptions=False)


def write_files(d: Path) -> None:
    items = [(*j, "Bekleidung > Jacken > Winterjacken") for j in JACKETS] + [(*VEST, "Bekleidung > Westen")]
    xml = ['<?xml version="1.0"?><rss xmlns:g="http://base.google.com/ns/1.0" version="2.0"><channel>']
    for sku, title, price, sale, category in items:
        xml.append(f"<item><g:id>{sku}</g:id><g:title>{title}</g:title><g:link>https://shop.example/p/{sku}</g:link>"
                   f"<g:price>{price} EUR</g:price><g:sale_price>{sale} EUR</g:sale_price>"
                   "<g:sale_price_effective_date>2026-11-27/2026-11-30</g:sale_price_effective_date>"
                   f"<g:availability>in_stock</g:availability><g:product_type>{category}</g:product_type></item>")
    (d / "feed.xml").write_text("\n".join(xml) + "</channel></rss>", encoding="utf-8")
    rows = ["Filiale;Artikelnummer;Bezeichnung;VK-Preis;Aktionspreis;Aktion von;Aktion bis"]
    for store in ("1001", "1002"):
        for sku, title, price, sale, _ in items:
            reduced = (sku != VEST[0] and not (store == "1002" and sku in ("100202", "100204"))) \
                or (sku == VEST[0] and store == "1002")  # 1002: two jackets full price, the online-only vest reduced
            promo = f"{sale.replace('.', ',')};27.11.2026;30.11.2026" if reduced else ";;"
            rows.append(f"{store};{sku};{title};{price.replace('.', ',')};{promo}")
    (d / "stores.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (d / "bf-2026.html").write_text("""<html><body>
<p>20 % auf alle Winterjacken!</p>
<p>Versandkostenfrei ab 49 €</p>
<p>Bequem bezahlen mit PayPal.</p>
<p>Gültig vom 27.11. bis 30.11.2026</p>
<table><tr>
<td><a href="https://shop.example/p/100201">Winterjacke Alpin</a><br>159,99 € <s>199,99 €</s></td>
<td><a href="https://shop.example/p/100401">Daunenweste</a><br>Nur online! 69,99 € <s>89,99 €</s></td>
</tr></table></body></html>""", encoding="utf-8")


def test_a_newsletters_words_are_checked_against_the_shop_the_stores_and_the_config(tmp_path):
    project = tmp_path / "bergwelt"
    assert run("init", str(project), project=project).exit_code == 0
    with (project / "unisono.yaml").open("a", encoding="utf-8") as f:
        f.write("claims:\n  free_shipping_threshold: 50\n  payment_methods: [paypal, invoice]\n")
    write_files(tmp_path)
    for channel, name, when in (("shop", "feed.xml", "2026-11-20T06:00"), ("store", "stores.csv", "2026-11-20T06:00"),
                                ("newsletter", "bf-2026.html", "2026-11-26T06:00")):
        published = run("publish", channel, str(tmp_path / name), "--published-at", when, project=project)
        assert published.exit_code == 0, published.output

    result = run("check", "--at", "2026-11-28T12:00", "--format", "json", project=project)
    assert result.exit_code == 1, result.output
    claims = sorted((f for f in json.loads(result.output)["findings"] if f["kind"] == "claim"),
                    key=lambda f: f["message"])
    assert [(f["rule"], f["severity"], f["locations"], f["message"], f["sources"]) for f in claims] == [
        ("newsletter-claims-hold", "error", ["newsletter:bf-2026", "store:1002"],
         "Newsletter bf-2026: '20 % auf alle Winterjacken!' (valid 27.11.–30.11.): 2 of 4 Winterjacken are not "
         "reduced by 20 % in store 1002 (100202, 100204).", ["bf-2026.html:2 (p[1])"]),
        ("newsletter-claims-hold", "error", ["newsletter:bf-2026", "store:1002"],
         "Newsletter bf-2026: 'Daunenweste: Nur online' (valid 27.11.–30.11.): the reduction is online only, but "
         "store 1002 (69.99 EUR instead of 89.99 EUR) also reduces it.",
         ["bf-2026.html:8 (table[1]/tr[1]/td[2])", "stores.csv:11"]),
        ("newsletter-claims-hold", "error", ["newsletter:bf-2026", "shop:online"],
         "Newsletter bf-2026: 'Versandkostenfrei ab 49 €' (valid 27.11.–30.11.); the shop charges shipping below "
         "50.00 EUR (claims.free_shipping_threshold).", ["bf-2026.html:3 (p[2])"]),
    ]
    # the vest is online only: store 1001 charging its regular price is no parity finding
    parity = json.loads(result.output)["findings"]
    assert sorted((f["sku"], f["locations"][-1]) for f in parity if f["rule"] == "price-parity") == [
        ("100202", "store:1002"), ("100204", "store:1002")]
    # narrowed to a jacket the claim names, the claim's finding is the jacket's too (a gate on it fails)
    jacket = run("check", "--at", "2026-11-28T12:00", "--sku", "100204", "--format", "json", project=project)
    assert jacket.exit_code == 1 and {f["rule"] for f in json.loads(jacket.output)["findings"]} == {
        "newsletter-claims-hold", "price-parity"}
    # and `explain` of that jacket shows it under the claim rule
    why = run("explain", "100204", "--at", "2026-11-28T12:00", "--rule", "newsletter-claims-hold", "--format", "json",
              project=project)
    [claim_rule] = json.loads(why.output)["rules"]
    assert claim_rule["verdict"] == "finding" and "2 of 4 Winterjacken" in claim_rule["findings"][0]["message"]
    # after the newsletter's window its claims say nothing
    after = run("check", "--at", "2026-12-02T12:00", "--format", "json", project=project)
    assert not [f for f in json.loads(after.output)["findings"] if f["kind"] == "claim"]


def test_waiving_a_claim_rule_by_a_products_sku_says_how_claims_are_waived(tmp_path):
    project = tmp_path / "bergwelt"
    assert run("init", str(project), project=project).exit_code == 0
    write_files(tmp_path)
    assert run("publish", "shop", str(tmp_path / "feed.xml"), project=project).exit_code == 0
    by_sku = CliRunner().invoke(cli, ["waive", "newsletter-claims-hold", "100204", "--reason", "r"],
                                env={"UNISONO_PROJECT": str(project)}, catch_exceptions=False)
    assert by_sku.exit_code == 0 and "is waived by the claim:… id its finding shows" in by_sku.stderr
    by_id = CliRunner().invoke(cli, ["waive", "newsletter-claims-hold", "claim:5ceff57680", "--reason", "r"],
                               env={"UNISONO_PROJECT": str(project)}, catch_exceptions=False)
    assert by_id.exit_code == 0 and "warning" not in by_id.stderr
    parity = CliRunner().invoke(cli, ["waive", "price-parity", "100204", "--reason", "r"],
                                env={"UNISONO_PROJECT": str(project)}, catch_exceptions=False)
    assert parity.exit_code == 0 and "claim" not in parity.stderr


def promotions_xml(percent: int) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<promotions>\n<promotion><promotion_id>BF20</promotion_id>'
            "<product_applicability>specific_products</product_applicability><offer_type>no_code</offer_type>"
            f"<long_title>Black Friday: {percent} % auf Winterjacken</long_title>"
            "<promotion_effective_dates>2026-11-27T00:00:00+01:00/2026-12-01T00:00:00+01:00"
            f"</promotion_effective_dates><redemption_channel>online</redemption_channel><percent_off>{percent}"
            "</percent_off></promotion>\n</promotions>\n")


def test_the_shops_promotions_feed_is_what_the_shop_grants_on_a_discount_claim(tmp_path):
    project = tmp_path / "bergwelt"
    assert run("init", str(project), project=project).exit_code == 0
    write_files(tmp_path)
    feed = tmp_path / "feed.xml"  # the jackets at their regular price in the feed, linked to the promotion
    text = feed.read_text(encoding="utf-8")
    for sku, _, _, sale in JACKETS:
        text = text.replace(f"<g:sale_price>{sale} EUR</g:sale_price>", "<g:promotion_id>BF20</g:promotion_id>")
    feed.write_text(text, encoding="utf-8")
    (tmp_path / "promotions.xml").write_text(promotions_xml(15), encoding="utf-8")
    said = {}
    for channel, name in (("shop", "feed.xml"), ("shop", "promotions.xml"), ("store", "stores.csv"),
                          ("newsletter", "bf-2026.html")):
        published = run("publish", channel, str(tmp_path / name), "--published-at", "2026-11-26T06:00", project=project)
        assert published.exit_code == 0, published.output
        said[name] = published.output
    assert "Published promotions.xml as shop #2: 0 offers, 1 claim, 0 rejections (promotions)." in said["promotions.xml"]
    assert "5 offers, 1 claim" in said["feed.xml"]  # the feed's promotion_id: which items BF20 covers

    def shop_findings(engine: str) -> list[str]:
        result = run("check", "--at", "2026-11-28T12:00", "--format", "json", "--engine", engine, project=project)
        return [f["message"] for f in json.loads(result.output)["findings"]
                if f["kind"] == "claim" and "shop:online" in f["locations"] and "Winterjacken" in f["message"]]

    assert shop_findings("sql") == [
        "Newsletter bf-2026: '20 % auf alle Winterjacken!' (valid 27.11.–30.11.): 4 of 4 Winterjacken are not "
        "reduced by 20 % in the shop (100201, 100202, 100203, 100204); promotion BF20 (promotions.xml:3) grants "
        "15 % on 4 of them."]
    assert shop_findings("rete") == shop_findings("sql")
    (tmp_path / "promotions.xml").write_text(promotions_xml(20), encoding="utf-8")
    published = run("publish", "shop", str(tmp_path / "promotions.xml"), "--published-at", "2026-11-26T07:00",
                    project=project)
    assert "0 offers, 1 claim, 0 rejections (promotions)" in published.output
    assert shop_findings("sql") == []  # 20 % at checkout on every jacket, the whole window long


def test_publish_check_of_a_store_file_reports_the_claims_it_breaks(tmp_path):
    # the gate on a store file re-checks its products; a claim about the store is one of its findings too
    project = tmp_path / "bergwelt"
    assert run("init", str(project), project=project).exit_code == 0
    write_files(tmp_path)
    for channel, name, when in (("shop", "feed.xml", "2026-11-20T06:00"), ("newsletter", "bf-2026.html", "2026-11-26T06:00")):
        assert run("publish", channel, str(tmp_path / name), "--published-at", when, project=project).exit_code == 0
    gate = run("publish", "store", str(tmp_path / "stores.csv"), "--check", "--published-at", "2026-11-28T06:00",
               "--format", "json", project=project)
    assert gate.exit_code == 1, gate.output
    found = json.loads(gate.output)["findings"]
    claims = sorted(f["message"].split(": ", 1)[1] for f in found if f["rule"] == "newsletter-claims-hold")
    assert claims == [
        "'20 % auf alle Winterjacken!' (valid 27.11.–30.11.): 2 of 4 Winterjacken are not reduced by 20 % in "
        "store 1002 (100202, 100204).",
        "'Daunenweste: Nur online' (valid 27.11.–30.11.): the reduction is online only, but store 1002 "
        "(69.99 EUR instead of 89.99 EUR) also reduces it."]
