"""reference_price: an announced reduction shows the lowest price of the 30 days before it
(Omnibus Directive art. 6a, PAngV §11). Each scenario publishes a shop history into a real catalog,
one publication a week, and checks on Black Friday (27.11.2026) or just after."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import literal, select

from unisono.catalog.history import epoch_days_before, latest_window_start
from unisono.catalog.publish import publish
from unisono.catalog.state import build_live
from unisono.catalog.tables import UTCDateTime
from unisono.domain.models import ChannelRead, Offer, SourceRef
from unisono.rules import default_rules_path, load_rules, run_rules
from unisono.rules.reference_price import ReferencePriceRule
from unisono.rules.testing import context

BERLIN = ZoneInfo("Europe/Berlin")
BOOT = "Wanderschuh Alpin GTX Herren"


def day(d: int, m: int, hour: int = 0) -> datetime:
    return datetime(2026, m, d, hour, tzinfo=BERLIN)


BLACK_FRIDAY = day(27, 11)
CHECK_AT = day(27, 11, 12)
FIVE_WEEKS = [day(16, 10), day(23, 10), day(30, 10), day(6, 11), day(13, 11)]  # the shop's weekly feed


def rule(**options) -> ReferencePriceRule:
    return ReferencePriceRule.model_validate({"id": "reference-price-30-days", "kind": "reference_price", **options})


def offer(channel: str, price: str, sale: str | None = None, *, sku: str = "100203", location: str = "online",
          sale_from: datetime | None = None, **fields) -> Offer:
    return Offer(channel=channel, location=location, sku=sku, title=fields.pop("title", BOOT), currency="EUR",
                 price=Decimal(price), sale_price=Decimal(sale) if sale else None, sale_start=sale_from,
                 source=SourceRef(file=f"{channel}-{location}.csv", line=1), **fields)


def shop(price: str, sale: str | None = None, **kw) -> Offer:
    return offer("shop", price, sale, **kw)


def newsletter(price: str, *, statt: str | None = None, badge: str | None = None, **kw) -> Offer:
    return offer("newsletter", price, location="bf-2026", reference_price=Decimal(statt) if statt else None,
                 discount_percent=Decimal(badge) if badge else None, valid_from=kw.pop("valid_from", BLACK_FRIDAY), **kw)


def published(catalog, when: datetime, *offers: Offer, effective_from: datetime | None = None) -> None:
    """One publication per channel, like `unisono publish CHANNEL FILE --published-at WHEN
    [--effective-from INSTANT]`."""
    for channel in dict.fromkeys(o.channel for o in offers):
        mine = [o for o in offers if o.channel == channel]
        source = f"{channel}-{when:%Y-%m-%d-%H%M}.csv"
        digest = hashlib.sha256(f"{source}{mine}".encode()).hexdigest()
        publish(catalog, ChannelRead(channel=channel, source=source, offers=mine),
                source=source, sha256=digest, published_at=when, effective_from=effective_from)


def weekly(catalog, *offers: Offer, weeks: list[datetime] = FIVE_WEEKS) -> None:
    for when in weeks:
        published(catalog, when, *offers)


def check(catalog, *rules: ReferencePriceRule, at: datetime = CHECK_AT):
    with catalog.begin() as conn:
        build_live(conn, at)
        return run_rules(conn, list(rules) or [rule()], context(at))


# -- "was" prices -------------------------------------------------------------------------------


def test_a_was_price_that_is_the_30_day_low_passes(catalog):
    weekly(catalog, shop("99.99"))
    published(catalog, day(20, 11), shop("99.99", "79.99", sale_from=BLACK_FRIDAY))
    assert check(catalog) == []


def test_a_was_price_above_the_30_day_low_is_flagged_with_the_right_numbers(catalog):
    weekly(catalog, shop("99.99"))
    published(catalog, day(20, 11), shop("119.99", "79.99", sale_from=BLACK_FRIDAY))
    (f,) = check(catalog)
    assert f.message == (f"The shop shows 119.99 EUR as the former price of 100203 '{BOOT}' (sale 79.99 EUR since 27.11.), "
                         "but its lowest price in the 30 days before was 99.99 EUR (from 28.10. until 20.11.).")
    assert (f.rule, f.kind, f.severity.value, f.sku, f.judged) == ("reference-price-30-days", "reference_price", "error",
                                                                   "100203", True)
    assert f.locations == ["shop:online"]
    assert f.values == {"shop:online": "119.99 EUR", "lowest 30 days": "99.99 EUR"}
    assert f.sources == ["shop-online.csv:1"]


def test_a_price_raised_shortly_before_the_sale_to_inflate_the_was_price_is_flagged(catalog):
    weekly(catalog, shop("99.99"))                      # 99.99 since 16.10.
    published(catalog, day(20, 11), shop("129.99"))    # raised a week before Black Friday
    published(catalog, BLACK_FRIDAY, shop("129.99", "89.99"))  # "-30 %" from the raised price
    (f,) = check(catalog)
    assert f.message == (f"The shop shows 129.99 EUR as the former price of 100203 '{BOOT}' (sale 89.99 EUR since 27.11.), "
                         "but its lowest price in the 30 days before was 99.99 EUR (from 28.10. until 20.11.).")


def test_a_tolerance_lets_a_was_price_exceed_the_low_by_that_much(catalog):
    weekly(catalog, shop("99.99"))
    published(catalog, day(20, 11), shop("100.00", "79.99", sale_from=BLACK_FRIDAY))
    assert len(check(catalog)) == 1
    assert check(catalog, rule(tolerance="0.01")) == []


def test_a_product_not_sold_before_the_sale_has_no_former_price_to_show(catalog):
    weekly(catalog, shop("49.99", sku="other", title="Zelt"))
    published(catalog, BLACK_FRIDAY, shop("49.99", sku="other", title="Zelt"), shop("149.99", "99.99"))
    (f,) = check(catalog)
    assert f.message == (f"The shop shows 149.99 EUR as the former price of 100203 '{BOOT}' (sale 99.99 EUR since 27.11.), "
                         "but it was not offered there in the 30 days before.")
    assert f.values["lowest 30 days"] == "none"


def test_a_staged_black_friday_feed_is_judged_before_it_goes_live(catalog):
    weekly(catalog, shop("99.99"))
    published(catalog, day(20, 11), shop("119.99", "79.99"), effective_from=BLACK_FRIDAY)  # the pre-release gate
    assert check(catalog, at=day(26, 11)) == []  # not live yet: the shop still charges 99.99
    (f,) = check(catalog, at=BLACK_FRIDAY)
    assert f.message.startswith(f"The shop shows 119.99 EUR as the former price of 100203 '{BOOT}' (sale 79.99 EUR "
                                "since 27.11.), but its lowest price in the 30 days before was 99.99 EUR")


def test_thirty_days_are_calendar_days_in_the_project_zone_across_the_end_of_summer_time(catalog):
    # 30 days before 20.11. 00:00 (CET) is 21.10. 00:00 (CEST): 721 hours, not 720
    published(catalog, day(16, 10), shop("89.99"))
    weekly(catalog, shop("99.99"), weeks=[datetime(2026, 10, 21, 0, 30, tzinfo=BERLIN), *FIVE_WEEKS[1:]])
    published(catalog, day(20, 11), shop("99.99", "79.99", sale_from=day(20, 11)))
    (f,) = check(catalog, at=day(20, 11, 12))
    assert f.values == {"shop:online": "99.99 EUR", "lowest 30 days": "89.99 EUR"}
    assert f.message.endswith("its lowest price in the 30 days before was 89.99 EUR (from 21.10. until 21.10. 00:30).")


def test_each_store_is_judged_by_its_own_price_history(catalog):
    stores = lambda p1042, p1043, sale=None: [offer("store", p1042, sale, location="1042"),  # noqa: E731
                                              offer("store", p1043, sale, location="1043")]
    weekly(catalog, *stores("99.99", "109.99"))
    published(catalog, BLACK_FRIDAY, *stores("109.99", "109.99", "79.99"))
    (f,) = check(catalog)
    assert f.locations == ["store:1042"]
    assert f.message.startswith("Store 1042 shows 109.99 EUR as the former price")


def test_a_store_listing_only_eans_is_judged_by_its_own_history_under_the_shop_s_sku(catalog):
    ean = "04012345678901"
    store = lambda price, sale=None: offer("store", price, sale, sku=None, gtin=ean, location="1042", title=None)  # noqa: E731
    weekly(catalog, shop("99.99", gtin=ean), store("99.99"))
    published(catalog, BLACK_FRIDAY, shop("99.99", "79.99", gtin=ean), store("119.99", "79.99"))
    (f,) = check(catalog)
    assert (f.sku, f.locations) == ("100203", ["store:1042"])
    assert f.message.startswith(f"Store 1042 shows 119.99 EUR as the former price of 100203 '{BOOT}'")


# -- percentages (CJEU C-330/23) ----------------------------------------------------------------


def test_a_stated_percentage_computed_from_the_regular_price_instead_of_the_30_day_low_is_flagged(catalog):
    weekly(catalog, shop("99.99"))
    published(catalog, day(20, 11), shop("114.29", "79.99", sale_from=BLACK_FRIDAY))  # 79.99 is -30 % of 114.29
    published(catalog, day(26, 11), newsletter("79.99", badge="30"))
    (f,) = [f for f in check(catalog) if f.locations[0].startswith("newsletter")]
    assert f.message == (f"Newsletter bf-2026 states -30 % for 100203 '{BOOT}'; measured from the shop's 30-day lowest "
                         "price 99.99 EUR the reduction is 20 %.")
    assert f.locations == ["newsletter:bf-2026", "shop:online"]
    assert f.values == {"newsletter:bf-2026": "-30 %", "lowest 30 days": "99.99 EUR"}
    assert f.extra["discount_measured"] == "20 %"


@pytest.mark.parametrize("badge", ["20", "19.5", "21"])
def test_a_percentage_measured_from_the_30_day_low_passes_within_a_point_of_rounding(catalog, badge):
    weekly(catalog, shop("99.99"))
    published(catalog, day(20, 11), shop("99.99", "79.99", sale_from=BLACK_FRIDAY))
    published(catalog, day(26, 11), newsletter("79.99", badge=badge))  # measured: 20.002 %
    assert check(catalog) == []


def test_a_percentage_off_by_more_than_percent_tolerance_is_flagged(catalog):
    weekly(catalog, shop("99.99"))
    published(catalog, day(20, 11), shop("99.99", "79.99", sale_from=BLACK_FRIDAY))
    published(catalog, day(26, 11), newsletter("79.99", badge="22"))
    assert len(check(catalog)) == 1
    assert check(catalog, rule(percent_tolerance=2)) == []


# -- gradual reductions (PAngV §11(2)) ----------------------------------------------------------


def stepped_down(catalog, *, back_to_regular: bool = False) -> None:
    weekly(catalog, shop("99.99"))
    published(catalog, day(20, 11), shop("99.99", "89.99"))  # first step
    if back_to_regular:
        published(catalog, day(24, 11), shop("99.99"))
    published(catalog, BLACK_FRIDAY, shop("99.99", "79.99"))  # second step, still "statt 99.99"


def test_gradual_reductions_keep_the_reference_from_before_the_first_step(catalog):
    stepped_down(catalog)
    assert check(catalog) == []


def test_without_gradual_reductions_each_step_is_measured_from_the_step_before(catalog):
    stepped_down(catalog)
    (f,) = check(catalog, rule(gradual_reductions=False))
    assert f.message == (f"The shop shows 99.99 EUR as the former price of 100203 '{BOOT}' (sale 79.99 EUR since 27.11.), "
                         "but its lowest price in the 30 days before was 89.99 EUR (from 20.11.).")


def test_a_return_to_the_regular_price_between_steps_ends_the_gradual_reduction(catalog):
    stepped_down(catalog, back_to_regular=True)
    (f,) = check(catalog)
    assert f.values == {"shop:online": "99.99 EUR", "lowest 30 days": "89.99 EUR"}
    assert "(from 20.11. until 24.11.)" in f.message


def test_a_sale_running_across_weekly_publications_is_one_reduction(catalog):
    weekly(catalog, shop("99.99"))
    for when in [day(20, 11), BLACK_FRIDAY, day(4, 12)]:  # the same sale, re-published each week
        published(catalog, when, shop("99.99", "79.99"))
    assert check(catalog, at=day(5, 12)) == []


# -- not enough history ---------------------------------------------------------------------------


def test_a_location_whose_history_starts_within_the_30_days_gets_one_cannot_judge_finding_for_all_its_reductions(catalog):
    tent, cup = dict(sku="tent", title="Zelt"), dict(sku="cup", title="Becher")
    published(catalog, day(13, 11), shop("99.99"), shop("49.99", **tent), shop("9.99", **cup))
    published(catalog, day(20, 11), shop("99.99", "79.99", sale_from=BLACK_FRIDAY),
              shop("49.99", "39.99", sale_from=BLACK_FRIDAY, **tent), shop("9.99", reference_price=Decimal("12.99"), **cup))
    (f,) = check(catalog)
    assert (f.judged, f.severity.value, f.sku, f.title) == (False, "info", "*", None)
    assert (f.channels, f.locations) == (["shop"], ["shop:online"])
    assert f.message == ("Cannot judge 3 announced reductions in the shop ('was' prices and a 'statt' price): its price "
                         "history starts 13.11.2026, the 30 days before 27.11.2026 are not all known. Publish older price "
                         "files with --published-at to judge them.")
    assert f.values == {"reductions": "3", "history since": "13.11.2026"}
    assert f.extra["skus"] == "100203, cup, tent"
    assert f.sources == ["shop-2026-11-20-0000.csv"]


def test_a_location_lacking_history_names_its_first_20_skus_and_counts_with_thousands_separators(catalog):
    published(catalog, day(20, 11), *[shop("19.99", "14.99", sku=f"{n:06d}", title=f"Artikel {n}")
                                      for n in range(1234, 0, -1)])
    (f,) = check(catalog)
    assert f.values["reductions"] == "1234" and f.message.startswith("Cannot judge 1,234 announced reductions in the shop")
    assert f.extra["skus"] == ", ".join(f"{n:06d}" for n in range(1, 21))


def test_the_cannot_judge_finding_of_a_location_keeps_its_fingerprint_while_its_reductions_change(catalog):
    published(catalog, day(20, 11), shop("99.99", "79.99"))
    (before,) = check(catalog)
    published(catalog, day(24, 11), shop("99.99", "79.99"), shop("49.99", "39.99", sku="tent", title="Zelt"))
    (after,) = check(catalog)
    assert (before.values["reductions"], after.values["reductions"]) == ("1", "2")
    assert before.fingerprint == after.fingerprint


def test_only_the_stores_lacking_history_are_summed_up_the_others_are_judged_offer_by_offer(catalog):
    sock = dict(sku="sock", title="Wandersocke")
    weekly(catalog, offer("store", "99.99", location="1042"),
           offer("store", "19.99", "14.99", location="1042", **sock))  # 1042: five weeks, the socks always on sale
    published(catalog, day(20, 11), offer("store", "99.99", location="1043"))  # 1043: one week
    published(catalog, BLACK_FRIDAY, offer("store", "119.99", "79.99", location="1042"),
              offer("store", "19.99", "14.99", location="1042", **sock), offer("store", "119.99", "79.99", location="1043"))
    found = {(f.sku, *f.locations): f for f in check(catalog)}
    assert set(found) == {("100203", "store:1042"), ("sock", "store:1042"), ("*", "store:1043")}
    assert found["100203", "store:1042"].judged and found["100203", "store:1042"].message.startswith(
        "Store 1042 shows 119.99 EUR as the former price")
    # 1042 has the history, but not the 30 days before the socks' sale began: that one offer is undecided
    assert not found["sock", "store:1042"].judged
    assert found["sock", "store:1042"].message.startswith("Cannot judge the 'was' price 19.99 EUR of sock 'Wandersocke' "
                                                          "in Store 1042: price history starts 16.10.")
    assert found["*", "store:1043"].message.startswith("Cannot judge 1 announced reduction in Store 1043 (a 'was' price): "
                                                       "its price history starts 20.11.2026")


def test_a_newsletter_judged_by_a_shop_without_30_days_of_history_gets_one_cannot_judge_finding(catalog):
    published(catalog, day(20, 11), shop("99.99", "79.99", sale_from=BLACK_FRIDAY), shop("29.99", sku="lamp"))
    published(catalog, day(26, 11), newsletter("79.99", statt="99.99"), newsletter("24.99", badge="15", sku="lamp"))
    news, own = check(catalog)
    assert (news.sku, news.channels, news.locations) == ("*", ["newsletter", "shop"], ["newsletter:bf-2026", "shop:online"])
    assert news.message == ("Cannot judge 2 announced reductions in Newsletter bf-2026 (a 'statt' price and a badge): the "
                            "shop's price history starts 20.11.2026, the 30 days before 27.11.2026 are not all known. "
                            "Publish older price files with --published-at to judge them.")
    assert news.extra["judged_by"] == "shop:online"
    assert (own.sku, own.locations, own.values["reductions"]) == ("*", ["shop:online"], "1")


def test_a_history_reaching_back_exactly_30_calendar_days_across_the_start_of_summer_time_is_judged(catalog):
    # 30 days before 20.04. 00:00 (CEST) is 21.03. 00:00 (CET): 719 hours, not 720
    at = datetime(2026, 4, 20, tzinfo=BERLIN)
    published(catalog, datetime(2026, 3, 21, tzinfo=BERLIN), shop("99.99"))
    published(catalog, at, shop("119.99", "79.99"))
    (f,) = check(catalog, at=at)
    assert f.judged and f.values == {"shop:online": "119.99 EUR", "lowest 30 days": "99.99 EUR"}


@pytest.mark.parametrize("at", [datetime(2026, 10, 25, 1, 0, 30, tzinfo=timezone.utc),  # summer time just ended
                                datetime(2026, 3, 29, 1, 0, 30, tzinfo=timezone.utc),   # summer time just began
                                datetime(2026, 11, 24, 1, 30, tzinfo=timezone.utc)])   # 30 days after its end
def test_the_history_bound_is_the_latest_window_start_of_any_reduction_up_to_the_check(catalog, at):
    # a location whose history starts after the bound is summed up without looking at its history: sound
    # only if no reduction starting at or before the check has a later window start (SQL's arithmetic)
    instants = [at - timedelta(seconds=s) for s in range(0, 7200, 60)]
    instants += [at - timedelta(days=30, seconds=s) for s in range(-3600, 3600, 300)]
    with catalog.connect() as conn:
        starts = [conn.execute(select(epoch_days_before(literal(t, UTCDateTime()), 30, BERLIN, at))).scalar_one()
                  for t in instants]
    bound = latest_window_start(at, 30, BERLIN)
    assert max(starts) <= bound < max(starts) + 60


def test_a_sale_already_running_when_the_history_starts_cannot_be_judged_offer_by_offer(catalog):
    weekly(catalog, shop("99.99", "79.99"))  # on sale in every publication: the reduction began before 16.10.
    (f,) = check(catalog)
    assert (f.judged, f.sku) == (False, "100203") and "reduction on 16.10." in f.message


# -- the newsletter, judged by the shop's history ------------------------------------------------


def test_a_newsletter_statt_price_is_judged_against_the_shop_s_history(catalog):
    weekly(catalog, shop("99.99"))
    published(catalog, day(20, 11), shop("99.99", "79.99", sale_from=BLACK_FRIDAY))
    published(catalog, day(26, 11), newsletter("79.99", statt="119.99"), newsletter("24.99", statt="29.99", sku="lamp"))
    (f,) = check(catalog)
    assert f.message == (f"Newsletter bf-2026 shows 119.99 EUR as the former price of 100203 '{BOOT}' (advertised at "
                         "79.99 EUR from 27.11.), but the shop's lowest price in the 30 days before was 99.99 EUR "
                         "(from 28.10.).")
    assert f.channels == ["newsletter", "shop"]
    assert f.locations == ["newsletter:bf-2026", "shop:online"]
    assert f.values == {"newsletter:bf-2026": "119.99 EUR", "lowest 30 days": "99.99 EUR"}


def test_a_newsletter_sent_after_the_shop_sale_began_is_measured_from_the_sale_s_start(catalog):
    weekly(catalog, shop("99.99"))
    published(catalog, day(20, 11), shop("99.99", "79.99", sale_from=BLACK_FRIDAY))
    published(catalog, day(28, 11), newsletter("79.99", statt="99.99", badge="20", valid_from=day(28, 11)))
    assert check(catalog, at=day(28, 11, 12)) == []


def test_a_newsletter_statt_price_with_a_wrong_badge_is_one_finding(catalog):
    weekly(catalog, shop("99.99"))
    published(catalog, day(20, 11), shop("99.99", "79.99", sale_from=BLACK_FRIDAY))
    published(catalog, day(26, 11), newsletter("79.99", statt="119.99", badge="33"))
    (f,) = check(catalog)
    assert f.message.endswith("(from 28.10.). It also states -33 %; measured from that lowest price the reduction is 20 %.")


# -- exemptions and the default ruleset -------------------------------------------------------------


def test_an_unless_scope_exempts_a_category(catalog):
    coffee = dict(sku="200001", title="Kaffee Espresso 1 kg", category="Lebensmittel > Kaffee")
    weekly(catalog, shop("99.99", category="Schuhe > Wanderschuhe"), shop("14.99", **coffee))
    published(catalog, BLACK_FRIDAY, shop("119.99", "79.99", category="Schuhe > Wanderschuhe"),
              shop("19.99", "12.99", **coffee))
    assert [f.sku for f in check(catalog)] == ["100203", "200001"]
    assert [f.sku for f in check(catalog, rule(unless={"category": "Lebensmittel"}))] == ["100203"]


def test_the_default_ruleset_checks_reference_prices_at_severity_error():
    (r,) = [r for r in load_rules([default_rules_path()]) if r.kind == "reference_price"]
    assert (r.id, r.severity.value, r.days, r.gradual_reductions) == ("reference-price-30-days", "error", 30, True)
    assert r.judged_by("newsletter") == "shop" and r.judged_by("store") == "store"


def test_judging_the_newsletter_by_its_own_history_is_refused():
    with pytest.raises(ValueError, match="newsletter has no price history of its own"):
        rule(history_channel={})


# -- a stated 30-day lowest price (the Omnibus line: "Niedrigster Preis der letzten 30 Tage") -----------

SHOP_SALE_IN_NOVEMBER = [(day(16, 10), None), (day(23, 10), None), (day(30, 10), None), (day(3, 11), "19.99"),
                         (day(10, 11), None), (day(17, 11), None)]


def shop_history_with_a_short_sale(catalog) -> None:
    for when, sale in SHOP_SALE_IN_NOVEMBER:
        published(catalog, when, shop("24.99", sale, sale_from=when if sale else None))


def test_a_newsletter_stating_a_30_day_lowest_above_the_shop_s_lowest_is_flagged(catalog):
    shop_history_with_a_short_sale(catalog)
    published(catalog, day(26, 11), newsletter("17.99", lowest_30d=Decimal("22.59")))
    (f,) = check(catalog)
    assert f.message == (f"Newsletter bf-2026 states 22.59 EUR as the lowest price of 100203 '{BOOT}' in the 30 days "
                         "before (advertised at 17.99 EUR from 27.11.), but the shop's lowest price was 19.99 EUR "
                         "(from 03.11. until 10.11.).")
    assert f.locations == ["newsletter:bf-2026", "shop:online"]
    assert f.values == {"newsletter:bf-2026": "22.59 EUR", "lowest 30 days": "19.99 EUR",
                        "stated lowest 30 days": "22.59 EUR"}
    assert f.judged


@pytest.mark.parametrize("stated", ["19.99", "18.99"])
def test_a_stated_30_day_lowest_must_be_the_lowest_price_exactly(catalog, stated):
    shop_history_with_a_short_sale(catalog)
    published(catalog, day(26, 11), newsletter("17.99", statt="19.99", lowest_30d=Decimal(stated)))
    findings = check(catalog)
    if stated == "19.99":  # the lowest price, also as the 'statt' price: nothing to say
        assert findings == []
    else:  # a lowest price below what was ever charged is as wrong as one above
        (f,) = findings
        assert f.values["stated lowest 30 days"] == "18.99 EUR"
        assert f.message.startswith(f"Newsletter bf-2026 states 18.99 EUR as the lowest price of 100203 '{BOOT}'")


def test_a_shop_stating_its_own_30_day_lowest_wrong_is_judged_by_its_own_history(catalog):
    shop_history_with_a_short_sale(catalog)
    published(catalog, day(20, 11), shop("24.99", "21.99", sale_from=BLACK_FRIDAY, lowest_30d=Decimal("24.99")))
    (f,) = [f for f in check(catalog) if "stated lowest 30 days" in f.values]
    assert f.locations == ["shop:online"]
    assert "states 24.99 EUR as the lowest price" in f.message and "its lowest price" in f.message


def test_a_stated_30_day_lowest_without_enough_history_is_not_guessed(catalog):
    published(catalog, day(20, 11), shop("24.99"))
    published(catalog, day(26, 11), newsletter("17.99", lowest_30d=Decimal("22.59")))
    (f,) = check(catalog)
    assert f.judged is False and f.severity.value == "info"
