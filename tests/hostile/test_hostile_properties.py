"""Property tests of the bounds every adapter relies on: any date, any number, any zone gives a
value the catalog stores or a ValueError with one line, nothing else."""
from __future__ import annotations

import os
from datetime import date, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from unisono.channels.parsing import (
    FIRST_INSTANT, LAST_INSTANT, MAX_PRICE, parse_decimal, parse_instant, parse_interval,
)
from unisono.domain.models import cents

ZONES = st.sampled_from([timezone.utc, ZoneInfo("Europe/Berlin"), ZoneInfo("Pacific/Kiritimati"),
                         ZoneInfo("Pacific/Pago_Pago"), ZoneInfo("America/New_York")])
DAYS = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
# fast in the suite; a longer fuzzing run: UNISONO_FUZZ_EXAMPLES=200000 pytest tests/hostile/test_hostile_properties.py
FAST = settings(max_examples=int(os.environ.get("UNISONO_FUZZ_EXAMPLES", "300")), deadline=None)


@FAST
@given(DAYS, ZONES, st.booleans(), st.sampled_from(["%d.%m.%Y", "%Y-%m-%d"]))
def test_any_date_in_a_file_is_an_instant_the_catalog_stores(day, tz, end_of_day, fmt):
    text = f"{day.day:02d}.{day.month:02d}.{day.year:04d}" if fmt == "%d.%m.%Y" else day.isoformat()
    instant = parse_instant(text, tz, end_of_day=end_of_day)
    assert FIRST_INSTANT <= instant <= LAST_INSTANT
    instant.astimezone(timezone.utc)  # storable: its UTC time exists


@FAST
@given(DAYS, ZONES)
def test_a_typed_date_is_an_instant_the_catalog_stores_or_one_line(day, tz):
    try:
        instant = parse_instant(day.isoformat(), tz, clamp=False, what="--at")
    except ValueError as e:
        assert "\n" not in str(e) and "outside the instants" in str(e)
        assert day < date(1, 1, 3) or day > date(9999, 12, 28)
        return
    assert FIRST_INSTANT <= instant <= LAST_INSTANT


@FAST
@given(DAYS, st.integers(0, 3000), ZONES)
def test_any_interval_in_a_file_is_ordered_inside_the_bounds_or_one_line(start, days, tz):
    end = start + timedelta(days=min(days, (date(9999, 12, 31) - start).days))  # never past the calendar
    try:
        a, b = parse_interval(f"{start.isoformat()}/{end.isoformat()}", tz)
    except ValueError as e:
        assert "ends before it starts" in str(e) and "\n" not in str(e)
        return
    assert FIRST_INSTANT <= a < b <= LAST_INSTANT


@FAST
@given(st.text(alphabet="0123456789.,-", min_size=1, max_size=40))
def test_any_number_text_is_an_amount_in_cents_or_one_line(text):
    try:
        value = parse_decimal(text)
    except ValueError as e:
        assert "\n" not in str(e)
        return
    assert abs(value) < MAX_PRICE
    assert abs(cents(value)) < 2 ** 63  # fits every database's integer
    assert isinstance(value, Decimal) and value.is_finite()


def test_a_skipped_local_time_is_read_on_the_old_offset_and_a_doubled_one_as_its_first():
    berlin = ZoneInfo("Europe/Berlin")
    gap = parse_instant("2026-03-29T02:30", berlin).astimezone(timezone.utc)
    fold = parse_instant("29.03.2026 02:30", berlin).astimezone(timezone.utc)
    assert gap == fold and gap.isoformat() == "2026-03-29T01:30:00+00:00"  # 03:30 summer time
    twice = parse_instant("2026-10-25T02:30", berlin).astimezone(timezone.utc)
    assert twice.isoformat() == "2026-10-25T00:30:00+00:00"  # the first 02:30, still summer time
