"""The store channel adapter: POS/ERP price exports in CSV -> offers and rejections."""
import csv
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unisono.channels.store import read, stream
from unisono.domain.config import ProjectConfig, StoreOptions
from unisono.domain.models import Availability, InputError, effective_price

FIXTURES = Path(__file__).parent / "fixtures" / "store"
BERLIN = ZoneInfo("Europe/Berlin")
CONFIG = ProjectConfig()
CUSTOM = ProjectConfig(store=StoreOptions(columns={
    "store": "Haus", "sku": "Artikel", "title": "Text", "price": "Brutto-VK",
    "promo_price": "Sonder-VK", "promo_from": "Sonder ab", "promo_to": "Sonder bis",
}))


def store(name: str, config: ProjectConfig = CONFIG):
    return read(FIXTURES / name, config)


def write(tmp_path: Path, data: bytes | str, name: str = "store_prices.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def by_key(result):
    return {(o.location, o.sku): o for o in result.offers}


def reasons(result):
    return {(r.source.line, r.reason) for r in result.rejections}


# ---- encodings, delimiters, number formats ------------------------------------------------------

@pytest.mark.parametrize("columnar", [True, False])
def test_a_file_mixing_utf8_and_cp1252_lines_reads_each_letter_as_written(tmp_path, columnar):
    """Lines appended from another system's export: UTF-8 letters stay UTF-8, cp1252 bytes are cp1252."""
    lines = [("1001;A1;Müsli Crème;1,99", "utf-8"), ("1001;A2;Käse 45 %;2,99", "cp1252"),
             ("1002;A3;Straßenschuh Größe 42;9,99", "utf-8"), ("1002;A4;Crêpe Würze;3,49", "cp1252")]
    data = b"Filiale;Artikelnummer;Bezeichnung;VK-Preis\n" + b"".join(t.encode(e) + b"\n" for t, e in lines)
    result = read(write(tmp_path, data), CONFIG, columnar=columnar)
    assert [o.title for o in result.offers] == ["Müsli Crème", "Käse 45 %", "Straßenschuh Größe 42", "Crêpe Würze"]
    assert any("mixes UTF-8 and cp1252" in note for note in result.notes) and not result.rejections


def test_cp1252_semicolon_file_with_german_headers_reads_umlauts_and_decimal_commas():
    result = store("filialpreise_cp1252.csv")
    assert not result.rejections
    offers = by_key(result)
    shoe = offers[("1042", "100203")]
    assert shoe.title == "Wanderschuh Größe 42"
    assert (shoe.price, shoe.sale_price, shoe.currency) == (Decimal("99.99"), Decimal("79.99"), "EUR")
    assert shoe.gtin == "04006381333931"
    assert shoe.source.file == "filialpreise_cp1252.csv" and shoe.source.line == 2
    assert offers[("1042", "100207")].title == "Espressomaschine Café Crème"
    assert offers[("Rosenheim", "100203")].price == Decimal("99.99")
    assert any("cp1252" in note for note in result.notes)


def test_a_decimal_comma_file_reads_padded_prices_missing_zeros_euro_signs_and_thousands_dots():
    offers = by_key(store("filialpreise_cp1252.csv"))
    assert offers[("1042", "100204")].price == Decimal("3.49")  # " 3,49"
    assert offers[("1042", "100205")].price == Decimal("0.69")  # ",69"
    assert offers[("1042", "100206")].price == Decimal("4.99")  # "4,99 €"
    assert offers[("1042", "100207")].price == Decimal("1299")  # "1.299" in a decimal-comma file
    assert offers[("1042", "100207")].sale_price == Decimal("1099.00")  # "1.099,00"


def test_whole_euros_written_with_a_dash_are_prices(tmp_path):
    path = write(tmp_path, "Filiale;SKU;Preis;Aktionspreis\n1;A1;120,-;99,– €\n1;A2;12,--;\n1;A3;-;\n")
    result = read(path, CONFIG)
    assert [(o.sku, o.price, o.sale_price) for o in result.offers] == [
        ("A1", Decimal("120"), Decimal("99")), ("A2", Decimal("12"), None)]
    assert [(r.source.line, r.reason) for r in result.rejections] == [(4, "price '-' is not a number")]


def test_three_letters_before_a_number_are_a_currency_only_if_iso_4217_has_them(tmp_path):
    path = write(tmp_path, "Filiale;SKU;Preis\n1;A1;abc0\n1;A2;xyz 5,00\n1;A3;chf 5,00\n1;A4;5,00 EUR\n")
    result = read(path, CONFIG)
    assert [(o.sku, o.price, o.currency) for o in result.offers] == [("A3", Decimal("5.00"), "CHF"),
                                                                    ("A4", Decimal("5.00"), "EUR")]
    assert [(r.source.line, r.reason) for r in result.rejections] == [
        (2, "price 'abc0' is not a number"), (3, "price 'xyz 5,00' is not a number")]


def test_utf8_bom_english_comma_file_with_quoted_fields():
    result = store("store_prices_utf8_bom.csv")
    assert not result.rejections and not result.notes
    offers = by_key(result)
    boot = offers[("0815", "A-1")]  # the BOM is not part of the store column's name; "0815" keeps its zero
    assert boot.title == "Hiking boot, men's"
    assert boot.gtin == "00012345678905"
    assert boot.availability is Availability.in_stock
    runner = offers[("0815", "A-2")]
    assert runner.title == 'Trail runner "Speed"'
    assert (runner.price, runner.sale_price) == (Decimal("1299.00"), Decimal("999.00"))
    assert runner.availability is Availability.out_of_stock  # a stock count of 0
    assert offers[("0815", "A-3")].price == Decimal("12.5")


def test_tab_separated_file_with_stock_counts():
    offers = by_key(store("store_prices_tab.txt"))
    assert offers[("Berlin-Mitte", "B-100")].price == Decimal("59.95")
    assert offers[("Berlin-Mitte", "B-100")].availability is Availability.in_stock
    assert offers[("Berlin-Mitte", "B-101")].availability is Availability.out_of_stock


def test_cp1250_file_reads_croatian_letters(tmp_path):
    text = ("Filiale;Artikelnummer;Bezeichnung;Preis\n"
            "Split;1;Čokolada s lješnjacima;2,49\n2;2;Šljivovica domaća;12,99\n3;3;Kruh pšenični;1,19\n")
    result = read(write(tmp_path, text.encode("cp1250")), CONFIG)
    assert [o.title for o in result.offers] == ["Čokolada s lješnjacima", "Šljivovica domaća", "Kruh pšenični"]


def test_pipe_separated_file_with_a_trailing_delimiter_and_crlf(tmp_path):
    path = write(tmp_path, "Markt-Nr|Art.-Nr.|VK-Preis|\r\n12|A1|,69|\r\n12|A2|1,05|\r\n")
    result = read(path, CONFIG)
    assert [(o.sku, o.price) for o in result.offers] == [("A1", Decimal("0.69")), ("A2", Decimal("1.05"))]


def test_header_names_match_ignoring_case_punctuation_accents_and_units(tmp_path):
    path = write(tmp_path, "FILIAL-NR.;art.-nr.;EAN-Code;VK Preis (EUR);Waehrung;Verfügbarkeit\n"
                           "1;A1;4006381333931;9,99;chf;lieferbar\n")
    [offer] = read(path, CONFIG).offers
    assert (offer.location, offer.sku, offer.gtin, offer.price) == ("1", "A1", "04006381333931", Decimal("9.99"))
    assert (offer.currency, offer.availability) == ("CHF", Availability.in_stock)


def test_default_currency_comes_from_store_options_then_the_project(tmp_path):
    path = write(tmp_path, "Filiale;SKU;Preis\n1;A1;9,99\n")
    assert read(path, ProjectConfig(currency="CHF")).offers[0].currency == "CHF"
    assert read(path, ProjectConfig(currency="CHF", store=StoreOptions(currency="ILS"))).offers[0].currency == "ILS"


def test_a_price_in_the_other_decimal_convention_is_rejected_with_the_reason(tmp_path):
    path = write(tmp_path, "Filiale;SKU;Preis\n1;A1;9,99\n1;A2;7.99\n1;A3;12,50\n")
    assert reasons(read(path, CONFIG)) == {(3, "price '7.99' is not a number (this file writes decimal commas)")}


def test_a_decimal_point_file_reads_1_299_as_a_decimal(tmp_path):
    path = write(tmp_path, "store,sku,price\n1,A1,9.99\n1,A2,1.299\n")
    assert by_key(read(path, CONFIG))[("1", "A2")].price == Decimal("1.299")


def test_sep_line_written_by_excel_sets_the_delimiter(tmp_path):
    path = write(tmp_path, "sep=;\nStore;SKU;Price (gross, EUR)\n1;A1;9,99\n")
    result = read(path, CONFIG)
    assert result.offers[0].price == Decimal("9.99") and result.offers[0].source.line == 3


def test_without_evidence_a_semicolon_file_reads_thousands_dots_and_says_so(tmp_path):
    result = read(write(tmp_path, "Filiale;SKU;Preis\n1;A1;1.299\n1;A2;15\n"), CONFIG)
    assert by_key(result)[("1", "A1")].price == Decimal("1299")
    assert any("decimal mark" in note for note in result.notes)


def test_excel_unicode_text_utf16_file_is_read(tmp_path):
    path = write(tmp_path, "Filiale\tSKU\tPreis\n1\tA1\t9,99\n".encode("utf-16"))
    assert read(path, CONFIG).offers[0].price == Decimal("9.99")


def test_stream_yields_offers_and_rejections_in_file_order():
    notes: list[str] = []
    items = list(stream(FIXTURES / "with_rejections.csv", CONFIG, notes))
    assert [item.source.line for item in items] == [2, 3, 4, 5, 7, 8, 9, 12, 14, 15]


# ---- mapping --------------------------------------------------------------------------------------

def test_a_layout_only_mappable_through_store_columns_needs_the_mapping():
    with pytest.raises(InputError, match="erp_export_custom.csv: no price column found"):
        store("erp_export_custom.csv")
    offers = by_key(store("erp_export_custom.csv", CUSTOM))
    umbrella = offers[("7", "A100")]
    assert (umbrella.title, umbrella.price, umbrella.sale_price) == ("Regenschirm", Decimal("19.99"), Decimal("14.99"))
    assert umbrella.sale_start == datetime(2026, 12, 1, tzinfo=BERLIN)
    assert offers[("7", "A101")].sale_price is None


def test_a_mapping_naming_a_column_the_file_lacks_is_an_input_error():
    config = ProjectConfig(store=StoreOptions(columns={"price": "Netto"}))
    with pytest.raises(InputError, match=r"erp_export_custom.csv: unisono.yaml maps store.columns.price to 'Netto'"):
        store("erp_export_custom.csv", config)


def test_a_mapping_with_an_unknown_field_is_an_input_error():
    config = ProjectConfig(store=StoreOptions(columns={"preis": "Brutto-VK"}))
    with pytest.raises(InputError, match="unknown field 'preis'"):
        store("erp_export_custom.csv", config)


@pytest.mark.parametrize("name, location", [
    ("M02_2026-11-19.csv", "M02"), ("M02_20261120.csv", "M02"), ("2026-11-19_M02.csv", "M02"),
    ("preise_1042_20261119_0600.csv", "preise_1042"), ("filiale-rosenheim-19.11.2026.csv", "filiale-rosenheim"),
    ("markt_10421042.csv", "markt_10421042"), ("2026-11-19.csv", "2026-11-19")])
def test_a_file_named_after_its_store_and_a_date_is_that_store_every_night(tmp_path, name, location):
    result = read(write(tmp_path, "Artikelnummer;Preis\nA1;9,99\n", name=name), CONFIG)
    assert result.offers[0].location == location
    note = next(note for note in result.notes if "no store column" in note)
    assert repr(location) in note and ("without its date" in note) == (location != name.removesuffix(".csv"))


def test_a_file_without_store_column_uses_the_configured_location_or_the_file_name(tmp_path):
    path = write(tmp_path, "Artikelnummer;Preis\nA1;9,99\n", name="markt_rosenheim.csv")
    result = read(path, CONFIG)
    assert result.offers[0].location == "markt_rosenheim"
    assert any("no store column" in note and "file name" in note for note in result.notes)
    configured = read(path, ProjectConfig(store=StoreOptions(location="Rosenheim")))
    assert configured.offers[0].location == "Rosenheim"


def test_one_column_may_be_both_sku_and_ean(tmp_path):
    path = write(tmp_path, "store,barcode,price\n1,7290000000015,9.90\n1,12345,4.50\n")
    config = ProjectConfig(store=StoreOptions(columns={"sku": "barcode", "gtin": "barcode"}))
    result = read(path, config)
    assert [(o.sku, o.gtin) for o in result.offers] == [("7290000000015", "07290000000015"), ("12345", None)]
    assert any("not a GTIN" in note for note in result.notes)


# ---- rejections -----------------------------------------------------------------------------------

def test_bad_rows_become_rejections_at_the_line_they_start_on():
    result = store("with_rejections.csv")
    assert reasons(result) == {
        (3, "price 'abc' is not a number"),
        (4, "promo to '31.11.2026' is not a date"),
        (5, "row has 5 fields, the header has 8"),
        (7, "duplicate row for store 1042 and sku 100201 (first at line 2)"),
        (8, "no sku and no EAN"),
        (12, "price '4,5O' is not a number"),  # the first row after a quoted field spanning lines 9-11
        (14, "promo to '20.11.2026' is before promo from '24.11.2026'"),
    }
    assert [o.source.line for o in result.offers] == [2, 9, 15]
    assert result.offers[1].title == "Kocher mit Topfset (3-teilig)"
    [abc] = [r for r in result.rejections if r.source.line == 3]
    assert (abc.raw, abc.source.file, abc.channel) == ("1042;100202;;Schlafsack;abc;;;", "with_rejections.csv", "store")


def test_blank_lines_and_rows_of_bare_delimiters_are_not_rows():
    result = store("with_rejections.csv")
    assert result.rows == 10  # 14 lines below the header: a blank line, ";;;;;;;", two continuation lines


def test_an_unclosed_quote_rejects_its_line_and_the_lines_it_took_in_are_read_as_rows(tmp_path):
    path = write(tmp_path, 'Filiale;SKU;Preis\n1;A1;"9,99\n1;A2;5,00\n1;A3;6,00\n')
    result = read(path, CONFIG)
    assert [(o.sku, o.source.line) for o in result.offers] == [("A2", 3), ("A3", 4)]
    [rejection] = result.rejections
    assert (rejection.source.line, rejection.raw) == (2, '1;A1;"9,99')
    assert rejection.reason.startswith("a quote opened on this line is never closed (it would make lines 3-4 ")


def test_a_stray_quote_before_a_name_loses_no_row_up_to_the_next_quote(tmp_path):
    # the quote before "Laufschuh" closes only at line 6's: every row between is still a row
    path = write(tmp_path, 'Filiale;SKU;Bezeichnung;Preis\n1;A1;"Laufschuh;65,00\n1;A2;Hose;5,00\n'
                           '2;A1;Laufschuh;60,00\n2;A2;Hose;5,00\n2;A3;Schal "Nord";7,00\n2;A4;"Mütze; rot";8,00\n')
    result = read(path, CONFIG)
    assert [(o.location, o.sku, o.title, o.source.line) for o in result.offers] == [
        ("1", "A2", "Hose", 3), ("2", "A1", "Laufschuh", 4), ("2", "A2", "Hose", 5), ("2", "A3", 'Schal "Nord"', 6),
        ("2", "A4", "Mütze; rot", 7)]
    [rejection] = result.rejections
    assert (rejection.source.line, rejection.raw) == (2, '1;A1;"Laufschuh;65,00')
    assert result.rows == 6  # every line below the header: an offer or a rejection


def test_a_duplicate_is_the_same_sku_or_ean_in_the_same_store(tmp_path):
    path = write(tmp_path, "Filiale;SKU;EAN;Preis\n1;A1;;9,99\n2;A1;;9,99\n1;;4006381333931;9,99\n"
                           "2;;4006381333931;9,99\n1;A1;;8,99\n1;;4006381333931;8,99\n1;A2;4006381333931;8,99\n")
    result = read(path, CONFIG)
    assert reasons(result) == {(6, "duplicate row for store 1 and sku A1 (first at line 2)"),
                               (7, "duplicate row for store 1 and EAN 04006381333931 (first at line 4)")}
    assert [o.source.line for o in result.offers] == [2, 3, 4, 5, 8]  # an sku keys a row before its EAN


def test_an_invalid_ean_without_sku_is_rejected(tmp_path):
    path = write(tmp_path, "Filiale;EAN;Preis\n1;12345;9,99\n1;4006381333931;9,99\n")
    result = read(path, CONFIG)
    assert reasons(result) == {(2, "EAN '12345' is not a GTIN (8 to 14 digits)")}
    assert result.offers[0].gtin == "04006381333931" and result.offers[0].sku is None


def test_unknown_currency_and_availability_are_rejected(tmp_path):
    path = write(tmp_path, "Filiale;SKU;Preis;Währung;Bestand\n1;A1;9,99;Taler;1\n1;A2;9,99;EUR;viel\n")
    assert {line for line, _ in reasons(read(path, CONFIG))} == {2, 3}


@pytest.mark.parametrize("columnar", [True, False], ids=["columns", "rows"])
def test_a_row_with_only_a_promo_price_charges_the_promo_price(tmp_path, columnar):
    # Croatian lists (and others) blank the regular price while a promotion runs: the shelf shows the
    # promo price alone, and that is what the customer pays
    path = write(tmp_path, "Filiale;SKU;Preis;Aktionspreis;Aktion bis\n1;A1;;1,99;30.11.2026\n1;A2;2,49;;\n"
                           "1;A3;;0,00;\n")
    result = read(path, CONFIG, columnar=columnar)
    offers = by_key(result)
    assert offers["1", "A1"].price == Decimal("1.99") and offers["1", "A1"].sale_price is None
    assert offers["1", "A2"].price == Decimal("2.49")
    assert reasons(result) == {(4, "price is empty")}  # a promo price of 0 is no promotion: no price at all
    assert "1 row has a promo price but no regular price: the promo price is read as its price" in result.notes


@pytest.mark.parametrize("columnar", [True, False])
def test_title_lines_above_the_header_are_skipped_with_a_note(tmp_path, columnar):
    path = write(tmp_path, "Preisliste Filiale 1001;;\nStand: 19.11.2026\n\nFiliale;Artikelnummer;VK-Preis\n"
                           "1001;A1;12,99\n1001;A2;abc\n")
    result = read(path, CONFIG, columnar=columnar)
    assert [(o.sku, o.price, o.source.line) for o in result.offers] == [("A1", Decimal("12.99"), 5)]
    assert {line for line, _ in reasons(result)} == {6}
    assert "store_prices.csv: the header is line 4; the 3 line(s) above it were skipped" in result.notes


def test_a_file_whose_first_lines_name_no_columns_keeps_its_first_lines_error(tmp_path):
    path = write(tmp_path, "Preisliste\nA1;12,99\nA2;9,99\n")
    with pytest.raises(InputError, match="no price column found"):
        read(path, CONFIG)


def test_negative_price_is_rejected(tmp_path):
    path = write(tmp_path, "Filiale;SKU;Preis\n1;A1;-9,99\n")
    assert reasons(read(path, CONFIG)) == {(2, "price '-9,99' is negative")}


# ---- promotions -----------------------------------------------------------------------------------

def test_promo_window_runs_from_the_start_of_the_first_day_to_the_end_of_the_last_in_berlin():
    shoe = by_key(store("filialpreise_cp1252.csv"))[("1042", "100203")]  # Aktion 20.11.2026 - 22.11.2026
    assert shoe.sale_start == datetime(2026, 11, 20, 0, 0, tzinfo=BERLIN)
    assert shoe.sale_end == datetime(2026, 11, 23, 0, 0, tzinfo=BERLIN)  # half-open: all of the 22nd
    assert effective_price(shoe, shoe.sale_start - timedelta(microseconds=1)) == Decimal("99.99")
    assert effective_price(shoe, datetime(2026, 11, 20, 0, 0, tzinfo=BERLIN)) == Decimal("79.99")
    assert effective_price(shoe, datetime(2026, 11, 22, 23, 59, 59, tzinfo=BERLIN)) == Decimal("79.99")
    assert effective_price(shoe, datetime(2026, 11, 22, 23, 0, tzinfo=ZoneInfo("UTC"))) == Decimal("99.99")


def test_promo_window_across_daylight_saving_changes_keeps_local_midnights():
    espresso = by_key(store("filialpreise_cp1252.csv"))[("1042", "100207")]  # 29.03.2026 - 25.10.2026
    # local midnights, whatever zone the instants are given in: 29.03. 00:00 is still winter time (+1),
    # the night clocks go forward; the end is the day after they go back
    assert espresso.sale_start == datetime(2026, 3, 28, 23, tzinfo=timezone.utc) == datetime(2026, 3, 29, tzinfo=BERLIN)
    assert espresso.sale_end == datetime(2026, 10, 25, 23, tzinfo=timezone.utc) == datetime(2026, 10, 26, tzinfo=BERLIN)


def test_promo_dates_with_times_and_short_years(tmp_path):
    path = write(tmp_path, "Filiale;SKU;Preis;Aktionspreis;Aktion von;Aktion bis\n"
                           "1;A1;9,99;7,99;20.11.26 9:30;2026-11-22 18:00\n")
    [offer] = read(path, CONFIG).offers
    assert (offer.sale_start, offer.sale_end) == (datetime(2026, 11, 20, 9, 30, tzinfo=BERLIN),
                                                  datetime(2026, 11, 22, 18, 0, tzinfo=BERLIN))


def test_promo_price_without_dates_is_always_active_and_dates_without_promo_price_are_ignored(tmp_path):
    path = write(tmp_path, "Filiale;SKU;Preis;Aktionspreis;Aktion bis\n1;A1;9,99;7,99;\n1;A2;9,99;;kaputt\n"
                           "1;A3;9,99;0,00;\n")
    result = read(path, CONFIG)
    offers = by_key(result)
    assert (offers[("1", "A1")].sale_price, offers[("1", "A1")].sale_start, offers[("1", "A1")].sale_end) == \
        (Decimal("7.99"), None, None)
    assert offers[("1", "A2")].sale_price is None and offers[("1", "A3")].sale_price is None
    assert any("promo dates but no promo price" in note for note in result.notes)
    assert any("promo price 0" in note for note in result.notes)


# ---- files that cannot be read ----------------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    (b"", "store_prices.csv: the file is empty"),
    (b"\r\n\r\n", "store_prices.csv: the file is empty"),
    (b"\xef\xbb\xbf", "store_prices.csv: the file is empty (no header line)"),
    (b"1042;100203;9,99\n1042;100204;5,99\n", "store_prices.csv: the first line looks like data, not a header"),
    (b"Filiale;Artikelnummer;Bezeichnung\n1;A1;Zelt\n", "store_prices.csv: no price column found (looked for VK-Preis"),
    (b"Filiale;Bezeichnung;Preis\n1;Zelt;9,99\n", "store_prices.csv: no sku or EAN column found"),
    (b"PK\x03\x04\x14\x00\x06\x00", "store_prices.csv: this is a spreadsheet or zip file"),
    (b"Filiale;SKU;Preis\n1;A\x00;9,99\n", "store_prices.csv: this is not a text file"),
    (bytes(range(0x80, 0x100)) * 40, "store_prices.csv: bytes near line 1 are not cp1252 text"),
])
def test_a_file_that_cannot_be_read_is_one_input_error_naming_it(tmp_path, data, message):
    with pytest.raises(InputError) as error:
        read(write(tmp_path, data), CONFIG)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_missing_price_column_message_tells_where_to_map_it(tmp_path):
    with pytest.raises(InputError) as error:
        read(write(tmp_path, "Filiale;SKU;Netto\n1;A1;9,99\n"), CONFIG)
    assert str(error.value).endswith("map yours in unisono.yaml under store.columns")
    assert "the file has: Filiale, SKU, Netto" in str(error.value)  # what to map it to


def test_missing_key_column_message_lists_the_headers_found(tmp_path):
    with pytest.raises(InputError) as error:
        read(write(tmp_path, "Filiale;Nummer;Preis\n1;A1;9,99\n"), CONFIG)
    assert "the file has: Filiale, Nummer, Preis" in str(error.value) and "\n" not in str(error.value)


def test_a_header_without_rows_is_read_with_a_note(tmp_path):
    result = read(write(tmp_path, "Filiale;SKU;Preis\n"), CONFIG)
    assert result.rows == 0 and any("no rows" in note for note in result.notes)


# ---- the invariant -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, encoding, delimiter", [
    ("filialpreise_cp1252.csv", "cp1252", ";"), ("store_prices_utf8_bom.csv", "utf-8-sig", ","),
    ("store_prices_tab.txt", "utf-8", "\t"), ("with_rejections.csv", "utf-8", ";"),
])
def test_every_data_row_is_an_offer_or_a_rejection(name, encoding, delimiter):
    result = store(name)
    text = (FIXTURES / name).read_text(encoding=encoding)
    records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if "".join(r).strip()]
    assert result.rows == len(records) - 1  # the header is no row
    assert len({r.source.line for r in result.rejections} | {o.source.line for o in result.offers}) == result.rows


cells = st.text(alphabet=st.sampled_from(list('ab1,.;"\n \t€-')), max_size=8)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(cells, min_size=1, max_size=6), max_size=12))
def test_any_rows_become_offers_or_rejections_never_lost(tmp_path_factory, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(["Filiale", "SKU", "Preis", "Aktionspreis", "Aktion bis"])
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("rows") / "random.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    expected = sum(1 for r in rows if any(x.strip() for x in r))
    assert read(path, CONFIG).rows == expected


@pytest.mark.parametrize("columnar", [True, False])
def test_an_amount_in_fractions_of_a_cent_is_stored_rounded_and_said(tmp_path, columnar):
    """"1,299" in a decimal-comma file is 1.299 EUR: the catalog keeps whole cents (1.30), and says so
    rather than rounding without a word (or 1,299 meant 1.299,00 and the user must look)."""
    path = write(tmp_path, "Filiale;Artikelnummer;VK-Preis;Aktionspreis\n1001;A1;1,299;\n1001;A2;2,49;1,995\n"
                           "1001;A3;3,49;\n")
    result = read(path, CONFIG, columnar=columnar)
    assert [o.price for o in result.offers] == [Decimal("1.299"), Decimal("2.49"), Decimal("3.49")]
    assert "2 rows have an amount in fractions of a cent (like 1,299): stored rounded to whole cents" in result.notes
