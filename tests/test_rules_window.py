"""window: promotions that should run together start and end together across channels."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from unisono.rules import run_rules
from unisono.rules.testing import add_offers, context, live_conn_fixture, offer
from unisono.rules.window import WindowRule, distance

live_conn = live_conn_fixture()  # SQLite, and PostgreSQL when UNISONO_TEST_POSTGRES is set

BERLIN = ZoneInfo("Europe/Berlin")
BOOT = "Wanderschuh Alpin GTX Herren"
AT = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)  # before Black Friday: the promotions are upcoming


def local(day: int, hour: int = 0, month: int = 11) -> datetime:
    """An instant on the Berlin clock (what the shop feed and the store file mean)."""
    return datetime(2026, month, day, hour, tzinfo=BERLIN)


BF_START, BF_END = local(27), local(1, month=12)  # 27.11. 00:00 to the end of 30.11.


def window(**fields) -> WindowRule:
    return WindowRule.model_validate({"id": "promotion-windows", "kind": "window", "channels": ["shop", "store"], **fields})


def promo(channel: str, location: str, start: datetime | None, end: datetime | None, key: str = "100203", **columns) -> dict:
    """An offer whose sale (99.99 -> 79.99) runs from start to end (upcoming at AT: the regular price is charged)."""
    return offer(channel, location, key, "99.99", "79.99", effective="99.99", sale_start=start, sale_end=end, **columns)


def check(conn, rule, *rows, at: datetime = AT):
    add_offers(conn, *rows)
    return run_rules(conn, [rule], context(at))


def test_a_store_promotion_starting_a_day_later_is_flagged_with_a_readable_message(live_conn):
    (f,) = check(live_conn, window(),
                 promo("shop", "online", BF_START, BF_END, title=BOOT),
                 promo("store", "1002", local(28), BF_END, title="WANDERSCH. ALPIN"))
    assert f.message == (f"Store 1002's promotion for 100203 '{BOOT}' starts 28.11. 00:00, a day after the shop's "
                         "(27.11. 00:00); both end 30.11.")
    assert (f.rule, f.kind, f.sku, f.channels, f.locations) == (
        "promotion-windows", "window", "100203", ["shop", "store"], ["shop:online", "store:1002"])
    assert f.values == {"shop:online": "27.11. 00:00 – 30.11.", "store:1002": "28.11. 00:00 – 30.11."}
    assert f.extra == {"differs": "start"}
    assert f.sources == ["shop-online.csv:1", "store-1002.csv:1"]


def test_equal_windows_in_every_store_pass(live_conn):
    assert check(live_conn, window(),
                 promo("shop", "online", BF_START, BF_END),
                 promo("store", "1001", BF_START, BF_END),
                 promo("store", "1002", BF_START, BF_END)) == []


def test_an_earlier_end_and_a_later_start_are_told_in_one_finding(live_conn):
    (f,) = check(live_conn, window(),
                 promo("shop", "online", BF_START, BF_END, title=BOOT),
                 promo("store", "1002", local(27, 6), local(30)))
    assert f.message == (f"Store 1002's promotion for 100203 '{BOOT}' starts 27.11. 06:00, 6 hours after the shop's "
                         "(27.11. 00:00), and ends 29.11., a day before the shop's (30.11.).")
    assert f.extra == {"differs": "start, end"}


def test_a_running_promotion_is_compared_too(live_conn):
    during = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
    (f,) = check(live_conn, window(),
                 offer("shop", "online", "1", "99.99", "79.99", sale_start=BF_START, sale_end=BF_END),
                 offer("store", "1002", "1", "99.99", "79.99", sale_start=BF_START, sale_end=local(2, month=12)),
                 at=during)
    assert "ends 01.12., a day after the shop's (30.11.); both start 27.11. 00:00" in f.message


def test_a_promotion_that_has_ended_is_not_compared(live_conn):
    after = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
    assert check(live_conn, window(),
                 offer("shop", "online", "1", "99.99", "79.99", sale_start=BF_START, sale_end=BF_END),
                 offer("store", "1002", "1", "99.99", "79.99", sale_start=BF_START, sale_end=local(2, month=12)),
                 at=after) == []


@pytest.mark.parametrize("tolerance, store_start, flagged", [
    ("0h", local(27, 1), True),
    ("1h", local(27, 1), False),
    ("1h", local(27, 2), True),
    ("90m", local(27, 1), False),
    ("1d", local(28), False),
    ("1d", local(28, 1), True),
    ("PT2H", local(26, 22), False),
    ("1d12h", local(28, 12), False),
])
def test_a_difference_within_the_tolerance_is_no_finding(live_conn, tolerance, store_start, flagged):
    findings = check(live_conn, window(tolerance=tolerance),
                     promo("shop", "online", BF_START, BF_END), promo("store", "1002", store_start, BF_END))
    assert bool(findings) is flagged


def test_compare_only_the_start_lets_ends_differ(live_conn):
    rows = [promo("shop", "online", BF_START, BF_END), promo("store", "1002", BF_START, local(30))]
    assert check(live_conn, window(compare=["start"]), *rows) == []


def test_compare_only_the_end_still_tells_the_start_when_it_is_the_same(live_conn):
    (f,) = check(live_conn, window(compare="end"),
                 promo("shop", "online", BF_START, BF_END), promo("store", "1002", BF_START, local(30)))
    assert f.message == "Store 1002's promotion for 100203 ends 29.11., a day before the shop's (30.11.); both start 27.11. 00:00."


def test_an_open_end_against_a_date_is_a_difference(live_conn):
    (f,) = check(live_conn, window(),
                 promo("shop", "online", BF_START, BF_END), promo("store", "1002", BF_START, None))
    assert f.message == "Store 1002's promotion for 100203 has no end date, while the shop's ends 30.11.; both start 27.11. 00:00."
    assert f.values["store:1002"] == "27.11. 00:00 – open"


def test_an_open_start_against_a_date_is_a_difference_even_within_the_tolerance(live_conn):
    (f,) = check(live_conn, window(tolerance="1d"),
                 promo("shop", "online", BF_START, BF_END), promo("store", "1002", None, BF_END))
    assert f.message == "Store 1002's promotion for 100203 has no start date, while the shop's starts 27.11. 00:00; both end 30.11."


def test_both_open_ends_are_the_same(live_conn):
    assert check(live_conn, window(),
                 promo("shop", "online", None, None), promo("store", "1002", None, None)) == []
    (f,) = check(live_conn, window(), promo("shop", "online", None, None, key="2"), promo("store", "1002", BF_START, None, key="2"))
    assert f.message.endswith("starts 27.11. 00:00, while the shop's has no start date; neither has an end date.")


def test_a_channel_without_a_sale_is_not_this_rule_s_business(live_conn):
    assert check(live_conn, window(),
                 promo("shop", "online", BF_START, BF_END),
                 offer("store", "1002", "100203", "99.99"),
                 promo("store", "1003", BF_START, BF_END, key="100777")) == []  # no shop offer at all


def test_without_a_reference_promotion_there_is_nothing_to_align_with(live_conn):
    assert check(live_conn, window(),
                 offer("shop", "online", "100203", "99.99"), promo("store", "1002", local(28), BF_END)) == []


def test_the_newsletter_validity_is_its_promotion_window(live_conn):
    rule = window(id="newsletter-window", channels=["shop", "newsletter"])
    (f,) = check(live_conn, rule,
                 promo("shop", "online", BF_START, BF_END, title=BOOT),
                 offer("newsletter", "bf-2026", "100203", "79.99", reference="99.99", valid_from=None, valid_to=local(30)),
                 offer("newsletter", "no-dates", "100203", "79.99", reference="99.99"))  # states no validity: says nothing
    assert f.locations == ["shop:online", "newsletter:bf-2026"]
    assert f.message == (f"Newsletter bf-2026's promotion for 100203 '{BOOT}' has no start date, while the shop's starts "
                         "27.11. 00:00, and ends 29.11., a day before the shop's (30.11.).")


def test_locations_of_one_channel_are_compared_pairwise_once(live_conn):
    findings = check(live_conn, window(channels=["store", "store"]),
                     promo("store", "a", BF_START, BF_END), promo("store", "b", BF_START, BF_END),
                     promo("store", "c", local(28), BF_END))
    assert sorted(f.locations for f in findings) == [["store:a", "store:c"], ["store:b", "store:c"]]


def test_where_limits_the_check_to_a_category(live_conn):
    findings = check(live_conn, window(where={"category": "Schuhe"}),
                     promo("shop", "online", BF_START, BF_END, key="boot", category="Schuhe > Wanderschuhe"),
                     promo("store", "1002", local(28), BF_END, key="boot", category="Schuhe > Wanderschuhe"),
                     promo("shop", "online", BF_START, BF_END, key="tent", category="Zelte"),
                     promo("store", "1002", local(28), BF_END, key="tent", category="Zelte"))
    assert [f.sku for f in findings] == ["boot"]


def test_a_date_in_another_year_shows_its_year(live_conn):
    (f,) = check(live_conn, window(),
                 promo("shop", "online", BF_START, datetime(2027, 1, 1, tzinfo=BERLIN)),
                 promo("store", "1002", BF_START, datetime(2027, 1, 2, tzinfo=BERLIN)))
    assert "ends 01.01.2027, a day after the shop's (31.12.)" in f.message


@pytest.mark.parametrize("a, b, said", [
    (local(28), local(27), "a day after"),
    (local(27), local(27, 2), "2 hours before"),
    (local(29, 6), local(27), "2 days and 6 hours after"),
    (local(27, 0) + timedelta(minutes=1), local(27), "a minute after"),
    (local(28, 1) + timedelta(minutes=30), local(27), "a day, an hour and 30 minutes after"),
    (local(27) + timedelta(seconds=20), local(27), "less than a minute after"),
    # 25.10.2026 has 25 hours in Berlin (summer time ends): midnight to midnight is still a day
    (local(26, month=10), local(25, month=10), "a day after"),
])
def test_distances_read_like_a_merchandiser_says_them(a, b, said):
    assert distance(a, b, BERLIN) == said


@pytest.mark.parametrize("tolerance", ["-1h", "1w", "soon", "1.5h", ""])
def test_a_bad_tolerance_says_how_to_write_one(tolerance):
    with pytest.raises(ValidationError, match="is not a duration such as 0h, 30m, 2h, 1d"):
        window(tolerance=tolerance)


def test_tolerances_parse_to_durations():
    assert window(tolerance="1d12h").tolerance == timedelta(days=1, hours=12)
    assert window(tolerance="PT2H").tolerance == timedelta(hours=2)
    assert window(tolerance=0).tolerance == timedelta(0)
    assert window().compare == ["start", "end"]
