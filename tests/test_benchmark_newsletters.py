"""benchmarks/newsletters.py scores the newsletter adapter on emails with truth files; on the corpus
written for the project (tests/fixtures/newsletters: Klaviyo, Mailchimp, Salesforce MC, Brevo and
Shopify Email layouts) it must read every product right."""
from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "newsletters"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_newsletters", ROOT / "benchmarks" / "newsletters.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def scores(capsys, *args: str) -> dict:
    assert _bench().main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_written_corpus_is_read_completely(capsys):
    result = scores(capsys, str(CORPUS))
    assert len(result["emails"]) == 5
    total = result["total"]
    assert (total["truth"], total["read"], total["right"]) == (19, 19, 19)
    assert (total["former"], total["former_n"], total["low"], total["low_n"]) == (12, 12, 5, 5)
    assert "naschwerk_shop_feed.xml" not in result["unscored"]  # only emails are scored


def test_a_missed_product_and_an_extra_offer_lower_recall_and_precision(tmp_path, capsys):
    shutil.copy(CORPUS / "shopify_email_fernleaf_en_2026-11-28.html", tmp_path / "mail.html")
    truth = json.loads((CORPUS / "shopify_email_fernleaf_en_2026-11-28.truth.json").read_text(encoding="utf-8"))
    truth["products"][1]["price"] = 19.00  # the email says $18.00: that offer no longer counts
    truth["products"].append({"name": "Amber Reed Diffuser", "price": 30.0, "currency": "USD"})
    (tmp_path / "mail.truth.json").write_text(json.dumps(truth), encoding="utf-8")
    [email] = scores(capsys, str(tmp_path), "--sent-at", "mail=2026-11-28")["emails"]
    assert (email["truth"], email["read"], email["right"]) == (4, 3, 2)
    assert (email["recall"], email["precision"]) == (0.5, 0.6667)
    assert email["sent"] == "2026-11-28 (--sent-at)"


def test_the_sent_date_comes_from_the_file_name_when_nothing_else_says_it(tmp_path):
    bench = _bench()
    assert bench.sent_date(tmp_path / "zalando_fr_2026-01.html", {}, {})[0].isoformat() == "2026-01-01"
    assert bench.sent_date(tmp_path / "x_2026-01-15.html", {"sent_at": "2026-02-02"}, {})[1] == "truth"
