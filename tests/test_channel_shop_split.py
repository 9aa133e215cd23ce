"""A large XML feed read in two halves by two processes says exactly what one reader says:
the same offers (values and lines), rejections, notes and errors, whatever the feed does at the cut."""
from pathlib import Path

import pyarrow as pa
import pytest

from unisono.channels import shop_split
from unisono.channels.shop import stream
from unisono.domain.batch import OfferBatch
from unisono.domain.config import ProjectConfig
from unisono.domain.models import Claim, InputError

CONFIG = ProjectConfig()
NEVER = 1 << 62  # split_from: one reader
ALWAYS = 0  # split_from: two halves whatever the size


def item(i: int, *, price: str | None = "19.99 EUR", sku: str | None = None, extra: str = "") -> str:
    price_line = f"\n      <g:price>{price}</g:price>" if price is not None else ""
    return (f"    <item>\n      <g:id>{sku or f'SKU{i}'}</g:id>\n      <g:title>Jacke {i}</g:title>"
            f"\n      <g:link>https://shop.example/p/{i}</g:link>{price_line}"
            f"\n      <g:availability>{'in stock' if i % 7 else 'vielleicht'}</g:availability>{extra}\n    </item>")


def feed(tmp_path: Path, items: list[str], name: str = "feed.xml") -> Path:
    path = tmp_path / name
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">\n'
                    "  <channel>\n    <title>Shop</title>\n" + "\n".join(items) + "\n  </channel>\n</rss>\n",
                    encoding="utf-8")
    return path


def read(path: Path, split_from: int):
    notes: list[str] = []
    batches, rejections = [], []
    for entry in stream(path, CONFIG, notes, split_from=split_from):
        if isinstance(entry, OfferBatch):
            batches.append(entry.table)
        elif isinstance(entry, Claim):  # the feed's shipping terms, after its items
            rejections.append((entry.source.line, entry.kind, entry.text))
        else:
            rejections.append((entry.source.line, entry.reason, entry.raw))
    return pa.concat_tables(batches) if batches else None, rejections, notes


def assert_same_as_one_reader(path: Path):
    one, two = read(path, NEVER), read(path, ALWAYS)
    assert one[0].equals(two[0])
    assert one[1:] == two[1:]
    return two


def test_two_halves_give_the_offers_rejections_and_notes_of_one_reader(tmp_path):
    items = [item(i, price=None if i % 50 == 3 else ("19.99" if i % 11 == 0 else "19.99 EUR")) for i in range(4000)]
    path = feed(tmp_path, items)
    assert shop_split.cut(path) is not None  # (the test is about a real cut)
    offers, rejections, notes = assert_same_as_one_reader(path)
    assert offers.num_rows + len(rejections) == 4000
    assert [r[1] for r in rejections[:1]] == ["item has no price"]
    assert any("prices carry no currency" in n for n in notes) and any("vielleicht" in n for n in notes)
    # every offer's line is its <item>'s line in the file
    lines = path.read_text(encoding="utf-8").splitlines()
    assert all(lines[line - 1].strip() == "<item>" for line in offers["line"].to_pylist())


def test_an_id_in_both_halves_is_a_duplicate_of_the_first_as_with_one_reader(tmp_path):
    items = [item(i) for i in range(3000)]
    items[2900] = item(2900, sku="SKU5")  # the second half repeats an id of the first
    path = feed(tmp_path, items)
    offers, rejections, _ = assert_same_as_one_reader(path)
    first = path.read_text(encoding="utf-8").splitlines().index("      <g:id>SKU5</g:id>")  # the line after <item>
    assert [r[1] for r in rejections] == [f"duplicate id SKU5 (first at line {first})"]


def test_a_cut_inside_cdata_that_looks_like_an_item_reads_the_feed_as_one_reader(tmp_path):
    items = [item(i) for i in range(2000)]
    # a description in the middle of the file whose CDATA holds item start tags: wherever the
    # search for a cut lands inside it, the halves would not be the feed
    fake = "".join(f"<item>{'x' * 50}</item>\n" for _ in range(4000))
    items[1000] = item(1000, extra=f"\n      <g:description><![CDATA[{fake}]]></g:description>")
    path = feed(tmp_path, items)
    size = path.stat().st_size
    text = path.read_bytes()
    assert text.index(b"<![CDATA[") < size // 2 < text.index(b"]]>")  # the cut would fall inside
    offers, rejections, _ = assert_same_as_one_reader(path)
    assert offers.num_rows == 2000 and not rejections


def test_a_malformed_second_half_fails_with_one_readers_error_and_line(tmp_path):
    items = [item(i) for i in range(3000)]
    items[2500] = items[2500].replace("</g:title>", "</g:titel>")
    path = feed(tmp_path, items)
    with pytest.raises(InputError) as one:
        read(path, NEVER)
    with pytest.raises(InputError) as two:
        read(path, ALWAYS)
    assert str(one.value) == str(two.value) and "line" in str(one.value)


def test_an_atom_feed_in_two_halves(tmp_path):
    entries = "\n".join(f"  <entry>\n    <g:id>A{i}</g:id>\n    <g:price>{i}.50 EUR</g:price>\n"
                        f"    <link href=\"https://shop.example/a/{i}\"/>\n  </entry>" for i in range(3000))
    path = tmp_path / "atom.xml"
    path.write_text('<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
                    f'xmlns:g="http://base.google.com/ns/1.0">\n  <title>Shop</title>\n{entries}\n</feed>\n')
    assert shop_split.cut(path) is not None
    offers, _, _ = assert_same_as_one_reader(path)
    assert offers.num_rows == 3000


def test_items_after_line_65535_keep_their_own_line(tmp_path):
    """libxml2 stores an element's line only up to 65,534 and then answers with a later line."""
    items = [item(i, price=None if i == 9_999 else "19.99 EUR") for i in range(10_000)]
    path = feed(tmp_path, items)
    _, rejections, _ = read(path, NEVER)
    (line, reason, _), = rejections
    assert line > 65_535 and reason == "item has no price"
    assert path.read_text(encoding="utf-8").splitlines()[line - 1].strip() == "<item>"


def test_without_a_temporary_folder_one_process_reads_the_feed(tmp_path, monkeypatch):
    import tempfile

    path = feed(tmp_path, [item(i) for i in range(2000)])
    expected = read(path, NEVER)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-folder"))
    offers, rejections, notes = read(path, ALWAYS)
    assert offers.equals(expected[0]) and (rejections, notes) == expected[1:]


@pytest.mark.parametrize("layout", [
    "<item><g:description>Warm.&#10;Dry {i}.</g:description><g:id>S{i}</g:id><g:price>{i}.99 EUR</g:price></item>",
    "<item><g:x/>\n<g:id>S{i}</g:id>\n<g:price>{i}.99 EUR</g:price></item>",
    "<item><!-- a\ncomment --><g:id>S{i}</g:id><g:price>{i}.99 EUR</g:price></item>",
    "<item><g:shipping><g:x/></g:shipping>\n<g:id>S{i}</g:id><g:price>{i}.99 EUR</g:price></item>",
    "<item>&#10;\n<g:id>S{i}</g:id><g:price>{i}.99 EUR</g:price></item>",
    '<item\n   a="1"><g:id>S{i}</g:id>\n<g:price>{i}.99 EUR</g:price></item>',
])
def test_every_item_has_its_start_tags_line_past_line_65535_in_any_layout(tmp_path, layout):
    path = feed(tmp_path, [layout.format(i=i) for i in range(70_000)])
    text = path.read_text(encoding="utf-8").split("\n")
    assert len(text) > 65_535
    for split_from in (NEVER, ALWAYS):
        offers, _, _ = read(path, split_from)
        lines = offers["line"].to_pylist()
        assert all(text[line - 1].startswith("<item") for line in lines), split_from
        assert lines == sorted(set(lines)) and len(lines) == 70_000


def test_start_tags_in_comments_cdata_and_instructions_are_no_items_across_any_block_size():
    import io

    from unisono.channels.xml_lines import start_tag_lines

    doc = (b'<rss>\n<!-- <item> \n -->\n<channel><item>\n<a/></item><![CDATA[<item>\n]]>\n<g:item\nx="1">'
           b'<?pi <item> ?></g:item>\n<itemx></itemx><entry/>\n</channel></rss>')
    for block in (1, 3, 7, 64, 1 << 20):
        assert start_tag_lines(io.BytesIO(doc), block=block) == [4, 7, 9], block


def test_the_feeds_shipping_terms_from_both_halves_are_one_readers(tmp_path):
    def shipping(i: int) -> str:
        if i == 10:
            return "\n      <g:free_shipping_threshold><g:country>DE</g:country><g:price_threshold>50.00 EUR</g:price_threshold></g:free_shipping_threshold>"
        fee = "\n      <g:shipping><g:country>DE</g:country><g:price>4.95 EUR</g:price></g:shipping>"
        return fee if i in (20, 2500) else ""
    items = [item(i, price=f"{40 + i % 20}.00 EUR", extra=shipping(i)) for i in range(3000)]
    _, entries, _ = assert_same_as_one_reader(feed(tmp_path, items))
    claims = [e for e in entries if e[1] == "shipping"]
    assert len(claims) == 2 and "free from 50.00 EUR" in claims[0][2] and "4.95 EUR" in claims[1][2]


def test_bad_gtins_of_both_halves_are_counted_once_in_the_note(tmp_path):
    # GTINs are checked by the column in each process; the note counts the whole file's
    gtins = ["4088490000003", "4088490000004", "12345", "2801954000000", "4088 4900 0000 3"]
    items = [item(i, extra=f"\n      <g:gtin>{gtins[i % 5]}</g:gtin>") for i in range(3000)]
    offers, _, notes = assert_same_as_one_reader(feed(tmp_path, items))
    assert "feed.xml: 1200 items have a gtin that is not a GTIN (its length or check digit): kept without it, keyed by id" in notes
    assert offers["gtin"].to_pylist()[:5] == ["04088490000003", None, None, "02801954000000", "04088490000003"]
