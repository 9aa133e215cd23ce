"""Plain items read by patterns (channels/shop_plain.py) say exactly what lxml says of them
(channels/shop_items.xml_items): the same fields, lines and raw text per item, the same items, the
same error for every feed, plain, tricky, hostile or random."""
import random
from pathlib import Path

import pytest

from unisono.channels import shop_plain
from unisono.channels.shop import read
from unisono.channels.shop_items import xml_items
from unisono.domain.config import ProjectConfig
from unisono.domain.models import InputError

G = "http://base.google.com/ns/1.0"
HEAD = f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:g="{G}">\n  <channel>\n    <title>Shop</title>\n'
TAIL = "\n  </channel>\n</rss>\n"


def plain(i: int) -> str:
    sale = f"\n      <g:sale_price>{i % 90 + 5}.49 EUR</g:sale_price>" if i % 3 == 0 else ""
    return (f"    <item>\n      <g:id>P{i}</g:id>\n      <g:title>Jacke &amp; Hose {i}</g:title>"
            f"\n      <g:description>Warm &lt;3 und &quot;leicht&quot;</g:description>"
            f"\n      <g:link>https://shop.example/p/{i}</g:link>\n      <g:price>{i % 90 + 9}.99 EUR</g:price>{sale}"
            f"\n      <g:availability>in stock</g:availability>\n      <g:product_type>Jacken &gt; Damen</g:product_type>\n    </item>")


FILLER = [plain(i) for i in range(400)]  # ~120 KB: files under 64 KB are read by lxml alone


def write(tmp_path: Path, body: str | bytes, head: str | bytes = HEAD, tail: str | bytes = TAIL) -> Path:
    parts = [p.encode() if isinstance(p, str) else p for p in (head, body, tail)]
    path = tmp_path / "feed.xml"
    path.write_bytes(b"".join(parts))
    return path


def outcome(items) -> tuple[list, str | None]:
    """Every item as (fields, line, raw text), and the error that ended them."""
    seen = []
    try:
        for fields, line, raw in items:
            seen.append((fields, line, raw() if callable(raw) else
                         __import__("lxml.etree").etree.tostring(raw, encoding="unicode", with_tail=False)))
    except InputError as e:
        return seen, str(e)
    return seen, None


def assert_same(path: Path) -> tuple[list, str | None]:
    by_lxml = outcome(xml_items(path))
    by_patterns = outcome(shop_plain.items(path))
    assert by_patterns == by_lxml
    return by_patterns


def around(*items: str) -> str:
    """The items between plain ones: some before (the patterns learn the layout), some after."""
    return "\n".join(FILLER[:200] + list(items) + FILLER[200:])


TRICKY = {
    "cdata": "<item><g:id>C1</g:id><g:title><![CDATA[Jacke <b>neu</b> & gut]]></g:title><g:price>5 EUR</g:price></item>",
    "comment inside": "<item><g:id>C2</g:id><!-- x --><g:price>5 EUR</g:price></item>",
    "comment between": "<item><g:id>C3</g:id><g:price>5 EUR</g:price></item><!-- <item> -->",
    "character references": "<item><g:id>C4</g:id><g:title>Caf&#233; &#x20AC; &#10;x</g:title><g:price>5 EUR</g:price></item>",
    "nested shipping": ("<item><g:id>C5</g:id><g:price>5 EUR</g:price><g:shipping><g:country>DE</g:country>"
                        "<g:price>4.95 EUR</g:price></g:shipping></item>"),
    "attribute on a field": '<item><g:id>C6</g:id><g:price unit="x">5 EUR</g:price></item>',
    "attribute on the item": '<item id="7"><g:id>C7</g:id><g:price>5 EUR</g:price></item>',
    "empty elements": "<item><g:id>C8</g:id><g:gtin/><g:sale_price></g:sale_price><g:price>5 EUR</g:price></item>",
    "blank texts": "<item><g:id>  C9 </g:id><g:title>   </g:title><g:price>\n5 EUR\n</g:price></item>",
    "another prefix for google": f'<item xmlns:gg="{G}"><gg:id>C10</gg:id><gg:price>5 EUR</gg:price></item>',
    "plain and g: names": "<item><id>X</id><g:id>C11</g:id><title>a</title><g:title>b</g:title><g:price>5 EUR</g:price></item>",
    "aliases": "<item><g:sku>C12</g:sku><g:ean>4006381333931</g:ean><g:price>5 EUR</g:price></item>",
    "promotions twice": ("<item><g:id>C13</g:id><g:price>5 EUR</g:price><g:promotion_id>A</g:promotion_id>"
                         "<g:promotion_id>B</g:promotion_id></item>"),
    "a tag twice": "<item><g:id>C14</g:id><g:price>5 EUR</g:price><g:price>6 EUR</g:price></item>",
    "other namespace": '<item xmlns:m="urn:x"><g:id>C15</g:id><m:price>1</m:price><g:price>5 EUR</g:price></item>',
    "greater-than and quotes": "<item><g:id>C16</g:id><g:title>a > b \"c\" 'd'</g:title><g:price>5 EUR</g:price></item>",
    "self-closing item": "<item/>",
    "text between items": "<item><g:id>C17</g:id><g:price>5 EUR</g:price></item> stray text ",
    "an element between items": "<item><g:id>C18</g:id><g:price>5 EUR</g:price></item><extra>1</extra>",
    "item inside another element": "<group><item><g:id>C19</g:id><g:price>5 EUR</g:price></item></group>",
    "spaces in tags": "<item ><g:id >C20</g:id ><g:price>5 EUR</g:price\n></item >",
    "cdata with an item tag": "<item><g:id>C21</g:id><g:title><![CDATA[<item> and </item>]]></g:title><g:price>5 EUR</g:price></item>",
    "processing instruction": "<item><g:id>C22</g:id><?pi <item>?><g:price>5 EUR</g:price></item>",
    "new layout": "<item><g:price>5 EUR</g:price><g:id>C23</g:id><g:brand>Z</g:brand></item>",
    "non-ascii names": "<item><g:id>C24</g:id><g:prïce>5</g:prïce><g:price>5 EUR</g:price></item>",
    "xml:lang attribute": '<item xml:lang="de"><g:id>C25</g:id><g:price>5 EUR</g:price></item>',
    "line breaks": "<item>\r\n<g:id>C26</g:id>\r\n<g:title>a\r\nb\rc</g:title><g:price>5 EUR</g:price></item>",
}


@pytest.mark.parametrize("case", sorted(TRICKY))
def test_a_tricky_item_among_plain_ones_is_read_as_lxml_reads_it(tmp_path, case):
    seen, error = assert_same(write(tmp_path, around(TRICKY[case])))
    assert error is None and len(seen) >= 400


MALFORMED = {
    "mismatched end tag": "<item><g:id>M1</g:id><g:price>5 EUR</g:title></item>",
    "unclosed item": "<item><g:id>M2</g:id><g:price>5 EUR</g:price>",
    "cdata end in text": "<item><g:id>M3</g:id><g:title>a ]]> b</g:title></item>",
    "an undeclared prefix": "<item><g:id>M4</g:id><x:price>5 EUR</x:price></item>",
    "an unknown entity": "<item><g:id>M5</g:id><g:title>&nbsp;</g:title></item>",
    "a bare ampersand": "<item><g:id>M6</g:id><g:title>A & B</g:title></item>",
    "a control character": "<item><g:id>M7</g:id><g:title>a\x01b</g:title></item>",
    "a reference to a control character": "<item><g:id>M8</g:id><g:title>a&#1;b</g:title></item>",
    "U+FFFE": "<item><g:id>M9</g:id><g:title>a\ufffeb</g:title></item>",
    "a lone less-than": "<item><g:id>M10</g:id><g:title>a < b</g:title></item>",
    "an unclosed comment": "<item><g:id>M11</g:id><!-- <g:price>5</g:price></item>",
    "an item after the root": None,
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_item_gives_lxmls_error(tmp_path, case):
    if MALFORMED[case] is None:
        path = write(tmp_path, around(), tail=TAIL + "<item><g:id>late</g:id></item>\n")
    else:
        path = write(tmp_path, around(MALFORMED[case]))
    seen, error = assert_same(path)
    assert error is not None and error.startswith("feed.xml line ")


def test_invalid_utf8_gives_lxmls_error(tmp_path):
    body = around("<item><g:id>U1</g:id><g:title>").encode() + b"\xff\xfe caf\xe9" + b"</g:title></item>" + around().encode()
    assert assert_same(write(tmp_path, body))[1] is not None


def test_a_truncated_feed_gives_lxmls_error(tmp_path):
    path = write(tmp_path, around(), tail="\n  </channel>")
    assert "ends early or is malformed" in assert_same(path)[1]


@pytest.mark.parametrize("head", [
    HEAD.replace("UTF-8", "ISO-8859-1"),
    HEAD.replace('<?xml version="1.0" encoding="UTF-8"?>\n', ""),
    "\ufeff" + HEAD,
    HEAD.replace("<rss", '<!DOCTYPE rss>\n<rss'),
    f'<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="{G}">\n',
    f'<?xml version="1.0"?>\n<rss xmlns:g="{G}"><channel>\n<image><item>no product</item></image>\n',
    f'<?xml version="1.0"?>\n<rss xmlns:g="{G}"><channel><!-- <item> in a comment -->\n',
])
def test_feeds_of_any_head_are_read_as_lxml_reads_them(tmp_path, head):
    atom = head.startswith('<?xml version="1.0"?>\n<feed')
    body = around().replace("<item>", "<entry>").replace("</item>", "</entry>") if atom else around()
    tail = "\n</feed>\n" if atom else TAIL
    encoded = head.encode("latin-1") if "ISO" in head else head.encode()
    seen, error = assert_same(write(tmp_path, body, head=encoded, tail=tail))
    assert error is None and len(seen) == 400


def test_an_entity_bomb_large_enough_for_the_patterns_is_refused(tmp_path):
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
            f'<rss xmlns:g="{G}"><channel>\n')
    path = write(tmp_path, around("<item><g:id>&b;</g:id></item>"), head=bomb)
    with pytest.raises(InputError, match=r"^feed\.xml: refused: the XML declares entities"):
        list(shop_plain.items(path))
    with pytest.raises(InputError, match=r"^feed\.xml: refused"):
        read(path, ProjectConfig())


def test_an_external_entity_reference_is_not_expanded(tmp_path):
    path = write(tmp_path, around('<item><g:id>E1</g:id><g:title>&xxe;</g:title></item>'))
    seen, error = assert_same(path)
    assert error is not None  # (lxml's own wording; never an expansion)


def test_the_lines_of_items_are_their_start_tags_lines(tmp_path):
    seen, _ = assert_same(write(tmp_path, around(TRICKY["cdata"], TRICKY["line breaks"])))
    rows = (tmp_path / "feed.xml").read_bytes().decode().split("\n")  # (a lone CR is no line break here)
    starts = [n + 1 for n, row in enumerate(rows) if row.lstrip().startswith("<item")]
    assert [line for _, line, _ in seen] == starts


# ---- random feeds: plain and unplain children, whitespace, layouts in any order -----------------

CHILDREN = [
    "<g:id>{i}</g:id>", "<g:title>T {i} &amp; co</g:title>", "<g:price>{i}.99 EUR</g:price>",
    "<g:sale_price>{i}.49 EUR</g:sale_price>", "<g:availability>in stock</g:availability>", "<g:brand>B</g:brand>",
    "<g:gtin>4006381333931</g:gtin>", "<g:link>https://s.example/{i}</g:link>", "<title>plain {i}</title>",
    "<g:condition>new</g:condition>", "<g:promotion_id>P{i}</g:promotion_id>", "<g:title></g:title>",
    "<g:brand>  </g:brand>", "<link>https://plain.example/{i}</link>", "<g:product_type>A &gt; B</g:product_type>",
]
UNPLAIN = [
    "<g:title><![CDATA[cd {i}]]></g:title>", "<!-- c -->", "<g:title>&#65;{i}</g:title>", '<g:brand x="1">B</g:brand>',
    "<g:shipping><g:country>DE</g:country><g:price>3 EUR</g:price></g:shipping>", "<g:gtin/>", "<?pi x?>",
]


def random_item(rng: random.Random, i: int) -> str:
    children = rng.sample(CHILDREN, rng.randint(1, 9))
    if rng.random() < 0.15:
        children.insert(rng.randint(0, len(children)), rng.choice(UNPLAIN))
    if rng.random() < 0.05:
        children.append(rng.choice(CHILDREN))  # a child twice
    spaces = ["", "\n", "\n      ", " ", "\r\n  ", "\t"]
    inner = "".join(rng.choice(spaces) + c.format(i=i) for c in children)
    return f"<item>{inner}{rng.choice(spaces)}</item>"


@pytest.mark.parametrize("seed", range(12))
def test_random_feeds_are_read_as_lxml_reads_them(tmp_path, seed):
    rng = random.Random(seed)
    items = [random_item(rng, i) for i in range(900)]
    body = "".join(rng.choice(["\n", "\n    ", "", " "]) + item for item in items)
    seen, error = assert_same(write(tmp_path, body))
    assert error is None and len(seen) == 900


def test_small_blocks_cut_between_any_items(tmp_path, monkeypatch):
    monkeypatch.setattr(shop_plain, "BLOCK", 997)
    rng = random.Random(99)
    body = "\n".join(random_item(rng, i) for i in range(700))
    seen, error = assert_same(write(tmp_path, body))
    assert error is None and len(seen) == 700


def lxml_reads(monkeypatch) -> list[int]:
    """A counter of the items lxml reads for shop_plain."""
    count = [0]
    by_lxml = shop_plain.xml_items

    def counted(*args, **kwargs):
        for item in by_lxml(*args, **kwargs):
            count[0] += 1
            yield item
    monkeypatch.setattr(shop_plain, "xml_items", counted)
    return count


def test_plain_items_are_read_without_lxml_and_a_tricky_one_alone_with_it(tmp_path, monkeypatch):
    count = lxml_reads(monkeypatch)
    assert len(list(shop_plain.items(write(tmp_path, around())))) == 400
    assert count[0] == 1  # the last item: with the end of the document
    count[0] = 0
    assert len(list(shop_plain.items(write(tmp_path, around(TRICKY["cdata"]))))) == 401
    assert count[0] == 2


def test_a_feed_of_mostly_tricky_items_is_left_to_lxml(tmp_path, monkeypatch):
    count = lxml_reads(monkeypatch)
    items = [TRICKY["cdata"].replace("C1", f"C{i}") for i in range(1500)]
    seen, error = assert_same(write(tmp_path, "\n".join(items)))
    assert error is None and len(seen) == 1500 and count[0] > 1500  # (read on from the start by lxml)


def test_items_written_with_a_prefix_are_read_as_lxml_reads_them(tmp_path, monkeypatch):
    count = lxml_reads(monkeypatch)
    head = f'<?xml version="1.0"?>\n<rss xmlns:r.x="urn:r" xmlns:g="{G}"><channel>\n'
    body = around().replace("<item>", "<r.x:item>").replace("</item>", "</r.x:item>")
    seen, error = assert_same(write(tmp_path, body, head=head))
    assert error is None and len(seen) == 400 and count[0] == 1
