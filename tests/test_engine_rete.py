"""The rete engine (durable_rules) gives exactly the SQL engine's findings, and survives its crashes.

Every comparison runs the SQL engine and the rete engine on the same live table; the rete runs
use verify=True where cheap enough (each durable rule's matches and its complement's must
partition the candidates: a match durable_rules lost fails the key instead of vanishing).
"""
from __future__ import annotations

import json
import random
import shutil
from datetime import datetime, timezone
from importlib.resources import as_file, files
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, true

from unisono.api.project import Project
from unisono.catalog.live import live
from unisono.catalog.state import build_live
from unisono.rules import EvalContext, load_rules, run_rules
from unisono.rules.expression import ExpressionRule
from unisono.rules.parity import ParityRule
from unisono.rules.presence import PresenceRule
from unisono.rules.rete import ReteEngineError, ReteStats, recheck_keys, run_rules_rete
from unisono.rules.rete.compile import compile_rules
from unisono.rules.rete.engine import check_partition
from unisono.rules.rete.scope import fold_case, scope_matches
from unisono.rules.scope import Scope, scope_clause
from unisono.rules.testing import add_offers, clear_offers, context, live_conn_fixture, live_connection, offer

live_conn = live_conn_fixture()  # SQLite, and PostgreSQL when UNISONO_TEST_POSTGRES is set


def both(conn, rules, **rete):
    """(SQL findings, rete findings) on the live table of conn."""
    ctx = context()
    return run_rules(conn, rules, ctx), run_rules_rete(conn, rules, ctx, **rete)


def parity(**fields) -> ParityRule:
    return ParityRule.model_validate({"id": "parity", "kind": "parity", "channels": ["shop", "store"],
                                      "fields": ["price", "effective_price"], "tolerance": "0.01", **fields})


def presence(**fields) -> PresenceRule:
    return PresenceRule.model_validate({"id": "presence", "kind": "presence", "when_in": "newsletter",
                                        "require_in": ["shop"], **fields})


def expression(when: str, **fields) -> ExpressionRule:
    return ExpressionRule.model_validate({"id": "expression", "kind": "expression", "when": when, **fields})


# -- the demo ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The shipped demo retailer, published, with its answer key."""
    with as_file(files("unisono.demo") / "data") as data:
        key = json.loads((data / "answer_key.json").read_text(encoding="utf-8"))
        project = Project.init(tmp_path_factory.mktemp("rete") / "bergwelt")
        for channel, name in [("shop", "shop_feed.xml"), ("store", "store_prices.csv"), ("newsletter", "newsletter.html")]:
            shutil.copyfile(data / name, project.path / name)
            project.publish(channel, project.path / name, published_at=datetime.fromisoformat("2026-11-19T06:00:00+01:00"))
    return project, datetime.fromisoformat(key["check_at"])


def test_both_engines_give_identical_findings_on_the_demo(demo):
    project, at = demo
    sql = project.check(at, record=False)
    rete = project.check(at, engine="rete", record=False)
    assert sql.findings and rete.findings == sql.findings
    assert rete.undecided == sql.undecided and rete.waived == sql.waived


def test_the_demo_through_durable_rules_with_every_match_accounted_for(demo):
    project, at = demo
    rules = load_rules(project.rule_paths())
    stats = ReteStats()
    with project.engine.begin() as conn:
        build_live(conn, at)
        sql, rete = both_at(conn, rules, at, verify=True, stats=stats)
    assert rete == sql
    assert stats.keys == 301 and stats.worker_crashes == 0
    # the price history and a claim's scope are not one key's live offers: reference_price and claim
    # run on the SQL engine, and say so; content's pairs are matched by durable_rules
    assert set(stats.delegated) == {r.id for r in rules if r.kind in ("reference_price", "claim")}
    assert any(r.kind == "content" for r in rules)


@pytest.mark.parametrize("skus, stores, seed, rate", [(600, 5, 11, None), (1500, 3, 3, 0.02), (300, 1, 29, 0.05)])
def test_generated_retailers_give_identical_findings_that_are_exactly_the_answer_key(tmp_path, skus, stores, seed, rate):
    from unisono.demo.generator import generate

    key = generate(tmp_path / "data", skus=skus, stores=stores, seed=seed, inconsistency_rate=rate)
    project = Project.init(tmp_path / "retailer")
    for channel, name in [("shop", "shop_feed.xml"), ("store", "store_prices.csv"), ("newsletter", "newsletter.html")]:
        project.publish(channel, tmp_path / "data" / name, published_at=datetime.fromisoformat("2026-11-19T06:00:00+01:00"))
    sql = project.check(key.check_at, record=False)
    rete = project.check(key.check_at, engine="rete", record=False)
    assert sql.findings and rete.findings == sql.findings and rete.undecided == sql.undecided
    found = sorted((f.rule, f.sku, next(l for l in f.locations if l != f.locations[0] or f.kind == "presence"))
                   for f in sql.findings)
    assert found == sorted((e.rule, e.sku, e.location) for e in key.expected_findings)


def both_at(conn, rules, at, **rete):
    ctx = EvalContext(at=at, tz=ZoneInfo("Europe/Berlin"))
    return run_rules(conn, rules, ctx), run_rules_rete(conn, rules, ctx, **rete)


# -- hand-written scenarios, per kind ----------------------------------------------------------

def test_parity_tolerances_directions_and_fields_match_the_sql_engine(live_conn):
    add_offers(live_conn,
               # within one cent is rounding; two cents is a finding
               offer("shop", "online", "A", "10.00"), offer("store", "1", "A", "10.01"), offer("store", "2", "A", "10.02"),
               offer("store", "3", "A", "9.98"),
               # 2 % of 100.00 is 2.00: 101.99 passes the relative tolerance, 102.01 does not
               offer("shop", "online", "B", "100.00"), offer("store", "1", "B", "101.99"),
               offer("store", "2", "B", "102.01"), offer("store", "3", "B", "97.00"),
               # a sale in the store only; a different currency; availability and title (NULL is no difference)
               offer("shop", "online", "C", "50.00", availability="in_stock", title="Zelt  "),
               offer("store", "1", "C", "50.00", "40.00", availability="out_of_stock", title="ZELT"),
               offer("store", "2", "C", "50.00", currency="CHF", title=None),
               offer("store", "3", "C", "50.00", availability=None, title="Zelt Pro"))
    rules = [
        parity(id="cent"),
        parity(id="relative", fields=["effective_price"], relative_tolerance="0.02"),
        parity(id="not-above", fields=["price"], direction="not_above", tolerance="0.5"),
        parity(id="not-below", fields=["price"], direction="not_below", relative_tolerance="0.01"),
        parity(id="others", fields=["sale_price", "currency", "availability", "title"], tolerance="0"),
        parity(id="store-vs-store", channels=["store", "store"], fields=["price", "title"]),
    ]
    sql, rete = both(live_conn, rules, verify=True)
    assert rete == sql
    assert {f.rule for f in sql} == {r.id for r in rules}  # every rule found something to compare


def test_presence_with_availability_and_several_channels_matches_the_sql_engine(live_conn):
    add_offers(live_conn,
               offer("newsletter", "bf", "A", "9.99"), offer("shop", "online", "A", "9.99", availability="in_stock"),
               offer("newsletter", "bf", "B", "9.99"), offer("shop", "online", "B", "9.99", availability="out_of_stock"),
               offer("store", "1002", "B", "9.99", availability="out_of_stock"),
               offer("store", "1001", "B", "9.99", availability="out_of_stock"),
               offer("newsletter", "bf", "C", "9.99"),
               offer("newsletter", "bf", "D", "9.99"), offer("shop", "online", "D", "9.99"),
               offer("store", "1001", "E", "5.00"), offer("shop", "online", "E", "5.00", availability="backorder"))
    rules = [presence(id="in-shop", require_available=True),
             presence(id="anywhere", require_in=["shop", "store"], require_available=True),
             presence(id="listed", require_in=["store"]),
             presence(id="store-online", when_in="store", require_in="shop", require_available=True)]
    sql, rete = both(live_conn, rules, verify=True)
    assert rete == sql
    assert {f.sku for f in sql if f.rule == "in-shop"} == {"B", "C"}


def test_expressions_with_null_arithmetic_abs_and_text_match_the_sql_engine(live_conn):
    add_offers(live_conn,
               offer("shop", "online", "A", "100.00", "80.00", discount_percent=20.0, brand="Alpenfuchs"),
               offer("newsletter", "bf", "A", "100.00", "40.00", reference="100.00"),
               offer("store", "1", "A", "100.00"), offer("store", "2", "A", "79.00", availability="in_stock"),
               offer("shop", "online", "B", "20.00", brand="alpenfuchs", availability="out_of_stock"),
               offer("newsletter", "bf", "B", "20.00", "20.00"),
               offer("store", "1", "B", "20.00", "0.01"),
               offer("shop", "online", "C", "0.00", title="Zelt"), offer("newsletter", "bf", "C", "5.00", title="zelt"))
    conditions = [
        "newsletter.effective_price < shop.price * 0.5",
        "store.sale_price IS NOT NULL AND shop.sale_price IS NULL",
        "NOT (shop.sale_price < 90)",  # NULL sale price: neither true nor false
        "shop.sale_price IS NULL OR shop.sale_price < 90",
        "ABS(store.effective_price - shop.effective_price) > 5",
        "ABS(store.price - 2 * shop.effective_price) - ABS(store.effective_price) >= -0.5",
        "store.effective_price / (shop.price - 100) < 0",  # x / 0 is NULL
        "newsletter.price / shop.price BETWEEN 0.9 AND 1.1",
        "shop.discount_percent IN (20, 25) OR newsletter.reference_price > 99.99",
        "-shop.price + 150 > newsletter.effective_price",
        "shop.brand = 'Alpenfuchs' AND store.availability <> 'in_stock'",
        "shop.availability IN ('out_of_stock', 'backorder')",
        "shop.title < newsletter.title",
        "newsletter.title >= 'zelt' OR shop.brand > 'Alpenfuchs'",
        "store.currency = 'EUR' AND store.sku = 'A'",
    ]
    rules = [expression(c, id=f"expression-{n}") for n, c in enumerate(conditions)]
    rules.append(expression("newsletter.effective_price < shop.price", id="templated",
                            message="{sku} '{title}': newsletter {newsletter.effective_price}, shop {shop.price}"))
    sql, rete = both(live_conn, rules, verify=True)
    assert rete == sql
    assert len({f.rule for f in sql}) >= 12


def test_scopes_select_and_exempt_exactly_as_in_sql(live_conn):
    add_offers(live_conn,
               offer("shop", "online", "A", "10.00", brand="Alpenfuchs", category="Schuhe > Wanderschuhe"),
               offer("store", "1042", "A", "12.00", availability="in_stock"), offer("store", "1043", "A", "12.00"),
               offer("shop", "online", "B", "10.00", brand="ALPENFUCHS", category="Schuhwerk"),
               offer("store", "1042", "B", "12.00"),
               offer("shop", "online", "C", "10.00", brand="Hausmarke", category="schuhe>Sandalen"),
               offer("store", "1042", "C", "12.00"), offer("newsletter", "bf", "C", "12.00"),
               # lower() folds Ä on PostgreSQL (UTF-8), not on SQLite: each engine as its database
               offer("shop", "online", "D", "10.00", brand="Ärmelwerk", category="Ärmel > Jacken", title="ÄRMEL"),
               offer("store", "1042", "D", "12.00", title="ärmel"))
    rules = [
        parity(id="brand", where={"brand": "alpenfuchs"}),
        parity(id="umlaut", where={"brand": "ärmelwerk"}, unless={"category": "ärmel"}),
        parity(id="umlaut-title", fields="title"),
        parity(id="category", where={"category": ["Schuhe"]}, unless={"store": 1043}),
        parity(id="availability", where={"availability": "in_stock", "sku": ["A", "B"]}),
        presence(id="no-house-brand", unless={"brand": "hausmarke"}),
        expression("store.price > shop.price", id="channels", where={"channel": ["newsletter"]}),
        expression("store.price > shop.price", id="stores", unless={"store": ["1042"], "category": "Schuhe"}),
    ]
    sql, rete = both(live_conn, rules, verify=True)
    assert rete == sql


@pytest.fixture(scope="module")
def scratch():
    with live_connection("sqlite://") as conn:
        yield conn


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_python_scope_evaluator_agrees_with_scope_clause(scratch, data):
    """rete/scope.py is the SQL engine's scope_clause in Python: on random rows and scopes, both agree."""
    words = ["Schuhe", "schuhe", "Schuhe > Wanderschuhe", "Schuhe>Sandalen", "Schuhwerk", "Jacken", "ÄRMEL", "ärmel",
             "a%b", "a_b"]
    names = st.lists(st.sampled_from(words + ["1042", "1043", "A", "B"]), min_size=1, max_size=3)
    fields = st.fixed_dictionaries({
        "sku": st.none() | names, "brand": st.none() | names, "category": st.none() | names, "store": st.none() | names,
        "channel": st.none() | st.lists(st.sampled_from(["shop", "store", "newsletter"]), min_size=1),
        "availability": st.none() | st.lists(st.sampled_from(["in_stock", "out_of_stock"]), min_size=1)})
    scope = data.draw(fields.filter(lambda f: any(f.values())).map(lambda f: Scope(**f)))
    row = st.fixed_dictionaries({
        "channel": st.sampled_from(["shop", "store", "newsletter"]), "location": st.sampled_from(["online", "1042", "1043"]),
        "key": st.sampled_from(["A", "B", "a%b"]), "brand": st.none() | st.sampled_from(words),
        "category": st.none() | st.sampled_from(words),
        "availability": st.none() | st.sampled_from(["in_stock", "out_of_stock"]),
    })
    rows = data.draw(st.lists(row, min_size=1, max_size=3))
    clear_offers(scratch)
    add_offers(scratch, *[offer(r["channel"], r["location"], r["key"], "1.00", brand=r["brand"], category=r["category"],
                                availability=r["availability"], source=f"row{i}") for i, r in enumerate(rows)])
    # brand and category are the product's in the live relation (one per key, the shop's first): as rete sees them
    product = {s: (b, c) for s, b, c in scratch.execute(select(live.c.source, live.c.brand, live.c.category))}
    rows = [{**r, "brand": product[f"row{i}"][0], "category": product[f"row{i}"][1]} for i, r in enumerate(rows)]
    aliases = [live.alias(f"o{i}") for i in range(len(rows))]
    joined = aliases[0]
    for a in aliases[1:]:
        joined = joined.join(a, true())
    q = (select(scope_clause(scope, aliases[0], aliases)).select_from(joined)
         .where(*[a.c.source == f"row{i}" for i, a in enumerate(aliases)]))
    expected = bool(scratch.execute(q).scalar_one())
    assert scope_matches(scope, rows[0], rows, fold_case("ascii")) == expected  # SQLite's lower()


# -- a larger random catalog ------------------------------------------------------------------------

def random_catalog(seed: int, keys: int) -> list[dict]:
    rnd = random.Random(seed)
    pick = rnd.choice
    rows = []
    sale_start = datetime(2026, 11, 20, tzinfo=timezone.utc)
    for k in range(keys):
        key = f"{100000 + k}"
        base = rnd.randint(100, 30000)
        brand, category = pick(["Alpenfuchs", "alpenfuchs", "Nordkamm", None]), pick(["Schuhe > Berg", "Zelte", None])
        title = pick(["Zelt Alpin", "ZELT ALPIN ", None])
        for channel, location in [("shop", "online"), ("store", "1001"), ("store", "1002"), ("store", "1003"),
                                  ("newsletter", "bf")]:
            if rnd.random() < (0.15 if channel != "newsletter" else 0.7):
                continue
            price = base + pick([0, 0, 0, 1, 2, -1, 150, -base // 10])
            sale = pick([None, None, base * 8 // 10, price - 1])
            effective = sale if sale is not None and rnd.random() < 0.8 else price
            rows.append(offer(channel, location, key, f"{price / 100:.2f}", None if sale is None else f"{sale / 100:.2f}",
                              effective=f"{effective / 100:.2f}", brand=brand, category=category,
                              title=pick([title, title, "zelt alpin"]), currency=pick(["EUR"] * 9 + ["CHF"]),
                              availability=pick(["in_stock", "out_of_stock", None]),
                              discount_percent=pick([None, 20.0, 12.5]),
                              reference_cents=pick([None, price, price + 500]),
                              sale_start=sale_start if sale is not None else None,
                              source=f"{channel}.csv:{k + 2}"))
    return rows


RANDOM_RULES = [
    parity(id="price-parity"),
    parity(id="newsletter", channels=["newsletter", "shop", "store"], fields=["effective_price"], relative_tolerance="0.05"),
    parity(id="stores-agree", channels=["store", "store"], fields=["price", "sale_price", "availability", "title"],
           direction="not_above", where={"category": "schuhe"}),
    presence(id="advertised", require_in=["shop", "store"], require_available=True, unless={"brand": "nordkamm"}),
    expression("newsletter.effective_price < shop.price * 0.5 OR store.discount_percent IS NOT NULL", id="typo",
               where={"store": ["1001", "1002"]}),
    expression("ABS(store.effective_price - shop.effective_price) / shop.price > 0.1 AND NOT shop.title = store.title",
               id="far-off"),
]


def test_a_random_catalog_gives_identical_findings_with_every_match_accounted_for(live_conn):
    add_offers(live_conn, *random_catalog(seed=4, keys=160))
    stats = ReteStats()
    sql, rete = both(live_conn, RANDOM_RULES, verify=True, stats=stats, batch_keys=40)
    assert rete == sql
    assert len({f.rule for f in sql}) == len(RANDOM_RULES) and stats.keys == 160 and stats.worker_crashes == 0


# -- crash containment ----------------------------------------------------------------------------

@pytest.fixture()
def catalog_conn():
    with live_connection("sqlite://") as conn:
        add_offers(conn, *random_catalog(seed=9, keys=100))
        yield conn


def test_a_worker_killed_mid_run_changes_nothing_in_the_findings(catalog_conn, monkeypatch):
    sql = run_rules(catalog_conn, RANDOM_RULES, context())
    monkeypatch.setenv("UNISONO_RETE_FAULT", "kill-after=30")  # the first worker SIGKILLs itself after 30 keys
    stats = ReteStats()
    rete = run_rules_rete(catalog_conn, RANDOM_RULES, context(), batch_keys=25, stats=stats)
    assert rete == sql
    assert stats.worker_crashes == 1 and "SIGKILL" in stats.crashes[0]
    assert stats.keys_retried == 0  # its keys were evaluated again, one by one, none of them failing


def test_a_worker_dying_of_a_segfault_is_replaced_too(catalog_conn, monkeypatch):
    monkeypatch.setenv("UNISONO_RETE_FAULT", "kill-after=10,signal=SEGV")
    stats = ReteStats()
    assert run_rules_rete(catalog_conn, RANDOM_RULES, context(), batch_keys=25, stats=stats) == \
        run_rules(catalog_conn, RANDOM_RULES, context())
    assert stats.worker_crashes == 1 and "SIGSEGV" in stats.crashes[0]


def test_a_key_that_always_crashes_fails_the_run_with_its_name(catalog_conn, monkeypatch):
    monkeypatch.setenv("UNISONO_RETE_FAULT", "crash-key=100042,signal=SEGV")
    with pytest.raises(ReteEngineError, match=r"product key 100042 \(3 attempts; last: worker killed by SIGSEGV"):
        run_rules_rete(catalog_conn, RANDOM_RULES, context(), batch_keys=25, retries=2)


def test_workers_are_recycled_after_a_bounded_number_of_keys(catalog_conn):
    stats = ReteStats()
    rete = run_rules_rete(catalog_conn, RANDOM_RULES, context(), keys_per_worker=40, batch_keys=20, stats=stats)
    assert rete == run_rules(catalog_conn, RANDOM_RULES, context())
    # 100 keys, at most 40 per worker: at least three workers, the first two retired worn out
    assert stats.workers_started >= 3 and stats.workers_recycled >= 2 and stats.worker_crashes == 0


def test_verify_reports_a_match_durable_rules_lost():
    plan = compile_rules([parity(fields=["price"])], verify=True)
    rows = [("shop", "online", "EUR", 1000), ("store", "1", "EUR", 1200), ("store", "2", "EUR", 1000)]
    assert plan.wire == ["channel", "location", "currency", "price_cents"]
    tag = {(t.case, t.complement): n for n, t in enumerate(plan.tags)}  # case 0: above, 1: below
    complete = [(tag[0, False], (0, 1)), (tag[0, True], (0, 2)), (tag[1, True], (0, 1)), (tag[1, True], (0, 2))]
    assert check_partition(plan, rows, complete) is None
    lost = check_partition(plan, rows, complete[1:])
    assert "case 0" in lost and "1 in neither" in lost
    assert "case 1" in check_partition(plan, rows, [*complete, (tag[1, False], (0, 1))])  # in both


# -- live re-check ---------------------------------------------------------------------------------

def test_recheck_keys_gives_the_findings_of_those_keys_only(catalog_conn):
    everything = run_rules(catalog_conn, RANDOM_RULES, context())
    keys = sorted({f.sku for f in everything})[::3] + ["100001", "no-such-key"]
    assert recheck_keys(catalog_conn, RANDOM_RULES, context(), keys) == [f for f in everything if f.sku in keys]


def test_check_with_the_rete_engine_from_the_command_line(demo):
    from click.testing import CliRunner

    from unisono.cli.main import cli

    project, at = demo
    args = ["check", "--project", str(project.path), "--at", at.isoformat(), "--format", "json"]
    sql = CliRunner().invoke(cli, args)
    rete = CliRunner().invoke(cli, [*args, "--engine", "rete"])
    assert rete.exit_code == sql.exit_code == 1
    assert json.loads(rete.output)["findings"] == json.loads(sql.output)["findings"]



def test_title_and_brand_drift_on_durable_rules_gives_the_sql_engines_findings(tmp_path):
    """content: durable_rules pairs the shop's offer with each store's; the kind's own judgement
    scores the pair. Abbreviations, case, umlauts, a drifted title, a store's own brand."""
    from unisono.rules.content import ContentRule

    project = Project.init(tmp_path / "p")
    (project.path / "feed.xml").write_text(
        '<?xml version="1.0"?><rss xmlns:g="http://base.google.com/ns/1.0" version="2.0"><channel>\n'
        + "".join(f"<item><g:id>{sku}</g:id><g:title>{title}</g:title><g:brand>{brand}</g:brand>"
                  f"<g:price>9.99 EUR</g:price></item>\n" for sku, title, brand in (
                      ("100203", "Wanderschuh Alpin GTX Herren", "Salewa"), ("100204", "Trinkflasche 1 l", "Sigg"),
                      ("100205", "Überhose Öko", "Vaude"), ("100206", "Daunenjacke Nuuk", "Bergwelt")))
        + "</channel></rss>", "utf-8")
    (project.path / "stores.csv").write_text(
        "Filiale;Artikelnummer;Bezeichnung;Marke;VK-Preis\n"
        "1001;100203;WANDERSCH. ALPIN GTX;SALEWA;9,99\n1002;100203;Daunenweste Damen;Salewa;9,99\n"
        "1001;100204;Trinkflasche 1 l;Salomon;9,99\n1002;100204;TRINKFLASCHE 1 L;sigg;9,99\n"
        "1001;100205;ÜBERHOSE ÖKO;Vaude;9,99\n1001;100206;Daunenjacke Nuuk;;9,99\n", "utf-8")
    for channel, name in (("shop", "feed.xml"), ("store", "stores.csv")):
        project.publish(channel, project.path / name, published_at=datetime(2026, 11, 20, tzinfo=timezone.utc))
    at = datetime(2026, 11, 24, tzinfo=timezone.utc)
    drift = [ContentRule.model_validate({"id": "drift", "kind": "content", "severity": "warning"}),
             ContentRule.model_validate({"id": "drift-strict", "kind": "content", "fields": "title",
                                         "title_similarity": 95, "where": {"store": "1001"}})]
    sql = project.check(at, rules=drift, record=False)
    rete = project.check(at, rules=drift, engine="rete", record=False)
    assert rete.findings == sql.findings
    assert {(f.rule, f.sku, f.locations[1]) for f in sql.findings} >= {
        ("drift", "100203", "store:1002"), ("drift", "100204", "store:1001")}
    assert not any(f.sku in ("100205", "100206") for f in sql.findings)  # case and umlauts, a missing brand


def test_content_is_compiled_for_durable_rules_not_delegated():
    from unisono.rules.content import ContentRule

    plan = compile_rules([ContentRule.model_validate({"id": "drift", "kind": "content"})], verify=True)
    assert not plan.delegated and plan.rules
