"""How well the newsletter adapter reads emails: scored against hand-written truth files.

    .venv/bin/python benchmarks/newsletters.py                                  # /work/shared/realdata/3_email
    .venv/bin/python benchmarks/newsletters.py tests/fixtures/newsletters -v    # every offer and every miss
    .venv/bin/python benchmarks/newsletters.py DIR --sent-at promo=2026-11-20 --json

Each `NAME.html` in DIR with a `NAME.truth.json` beside it is read as `unisono publish newsletter`
reads it and compared with the truth: {"products": [{"name", "price", "former_price", "lowest_30d",
"currency"}, ...], "ambiguous": [{"name", "price"}, ...] (optional: offers matching these count
neither way), "sent_at": "YYYY-MM-DD" (optional)}. A truth product is read right when an offer not
yet paired has its price and currency (a title that contains the name, or is contained in it,
breaks ties). Per email and in total:

- recall: products read right / products in the truth;
- precision: products read right / offers read (less those matching an `ambiguous` entry);
- former: former prices ("statt", struck through, RRP) right, of those the truth states;
- low30: stated lowest-30-day prices right, of those the truth states: the offer's `lowest_30d`
  where the adapter has that field, else the block's "lowest_price" claim; "n/a" when the adapter
  gives neither in any email of the folder;
- title: paired offers whose title contains the product's name or is contained in it.

When an email was sent matters ("bis 30.11." is the 30.11. after it): `--sent-at NAME=DATE`
(repeatable, or a JSON file {"NAME": "DATE"}), else the truth's `sent_at`, else a date in the file
name (`..._2026-01-15`, or `..._2026-01` for the 1st of that month), else today (said in the output).
Emails are read where they lie: third-party emails are never copied into the project.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path

from unisono.channels import newsletter
from unisono.channels.newsletter_prices import MONEY, parse_money
from unisono.domain.config import ProjectConfig
from unisono.domain.models import Claim, InputError, Offer

DEFAULT_DIR = Path("/work/shared/realdata/3_email")
_CENT = Decimal("0.005")


@dataclass
class Score:
    email: str
    sent: str
    truth: int = 0
    read: int = 0  # offers read, less those matching an `ambiguous` entry
    right: int = 0
    former: int = 0
    former_n: int = 0
    low: int = 0
    low_n: int = 0
    lowest_given: bool = False  # the adapter gave a stated lowest price here (field or claim)
    titled: int = 0
    refused: str | None = None
    offers: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.right / self.truth if self.truth else 1.0

    @property
    def precision(self) -> float:
        return self.right / self.read if self.read else (1.0 if not self.truth else 0.0)

    def add(self, other: Score) -> None:
        for name in ("truth", "read", "right", "former", "former_n", "low", "low_n", "titled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.lowest_given = self.lowest_given or other.lowest_given


def norm(text: str | None) -> str:
    """Lower-case ASCII words: how titles are compared."""
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", folded).strip()


def _close(a, b) -> bool:
    return a is not None and b is not None and abs(Decimal(str(a)) - Decimal(str(b))) < _CENT


def _names_agree(title: str | None, name: str) -> bool:
    t, n = norm(title), norm(name)
    return bool(t) and bool(n) and (t in n or n in t)


def sent_date(html: Path, truth: dict, given: dict[str, str]) -> tuple[date | None, str]:
    """When the email was sent, and where that came from."""
    for value, how in ((given.get(html.stem), "--sent-at"), (truth.get("sent_at"), "truth")):
        if value:
            return date.fromisoformat(str(value)[:10]), how
    m = re.search(r"(\d{4})-(\d{2})(?:-(\d{2}))?(?!\d)", html.stem)
    if m:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)), "file name"
    return None, "unknown: today"


def _lowest_stated(offer: Offer, claims: list[Claim]) -> Decimal | None:
    """The 30-day lowest price the adapter gives for an offer: its field, else its block's claim."""
    if "lowest_30d" in Offer.model_fields:
        return getattr(offer, "lowest_30d")
    stated = [c for c in claims if c.kind == "lowest_price" and c.source == offer.source]
    amounts = list(MONEY.finditer(stated[0].text)) if stated else []
    parsed = parse_money(amounts[-1].group(0), offer.currency) if amounts else None
    return parsed[0] if parsed else None


def score_email(html: Path, truth: dict, config: ProjectConfig, given: dict[str, str]) -> Score:
    sent, how = sent_date(html, truth, given)
    s = Score(email=html.stem, sent=f"{sent.isoformat() if sent else date.today().isoformat()} ({how})")
    published = datetime.combine(sent, time(12), timezone.utc) if sent else None
    products = truth.get("products", [])
    ambiguous = truth.get("ambiguous", [])
    s.truth = len(products)
    try:
        res = newsletter.read(html, config, published_at=published)
        offers, claims = res.offers, res.claims
    except InputError as e:
        offers, claims, s.refused = [], [], str(e)
    used: set[int] = set()
    s.lowest_given = "lowest_30d" in Offer.model_fields or any(c.kind == "lowest_price" for c in claims)
    for p in products:
        cands = [i for i, o in enumerate(offers)
                 if i not in used and _close(o.price, p["price"]) and o.currency == p["currency"]]
        cands.sort(key=lambda i: not _names_agree(offers[i].title, p["name"]))
        s.former_n += p.get("former_price") is not None
        s.low_n += p.get("lowest_30d") is not None
        if not cands:
            s.misses.append(f"{p['name']!r} {p['price']} {p['currency']}")
            continue
        o = offers[cands[0]]
        used.add(cands[0])
        s.right += 1
        s.titled += _names_agree(o.title, p["name"])
        if p.get("former_price") is not None:
            s.former += _close(o.reference_price if o.reference_price is not None else o.list_price, p["former_price"])
        if p.get("lowest_30d") is not None:
            s.low += _close(_lowest_stated(o, claims), p["lowest_30d"])
    extra = [o for i, o in enumerate(offers) if i not in used]
    neither = [o for o in extra if any(_close(o.price, a.get("price")) or
                                       (a.get("name") and norm(a["name"]) in norm(o.title)) for a in ambiguous)]
    s.read = len(offers) - len(neither)
    for i, o in enumerate(offers):
        mark = "  " if i in used else ("~ " if o in neither else "X ")
        s.offers.append(f"{mark}{o.title!r} {o.price} {o.currency} former={o.reference_price or o.list_price} "
                        f"url={(o.url or '')[:70]}")
    return s


def _sent_map(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        if "=" in v:
            name, _, when = v.partition("=")
            out[Path(name.strip()).stem.removesuffix(".truth")] = when.strip()
        else:
            try:
                out.update(json.loads(Path(v).read_text(encoding="utf-8")))
            except (OSError, ValueError) as e:
                raise SystemExit(f"--sent-at {v}: neither NAME=DATE nor a readable JSON file ({e})")
    for name, when in out.items():
        try:
            date.fromisoformat(str(when)[:10])
        except ValueError:
            raise SystemExit(f"--sent-at {name}={when}: not a date (YYYY-MM-DD)") from None
    return out


def _frac(n: int, d: int, known: bool = True) -> str:
    return f"{n}/{d}" if known else "n/a"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--sent-at", action="append", default=[], metavar="NAME=DATE|FILE.json")
    ap.add_argument("--currency", default="EUR", help="the project's currency (prices that state none)")
    ap.add_argument("--timezone", default="Europe/Berlin")
    ap.add_argument("--json", action="store_true", help="the scores as JSON")
    ap.add_argument("-v", "--verbose", action="store_true", help="every offer read and every product missed")
    args = ap.parse_args(argv)
    if not args.dir.is_dir():
        print(f"{args.dir}: no such folder", file=sys.stderr)
        return 2
    given = _sent_map(args.sent_at)
    config = ProjectConfig.model_validate({"currency": args.currency, "timezone": args.timezone})
    scores, unscored = [], []
    for html in sorted(args.dir.glob("*.htm*")):
        truth_file = html.parent / f"{html.stem}.truth.json"
        if not truth_file.is_file():
            unscored.append(html.name)
            continue
        try:
            truth = json.loads(truth_file.read_text(encoding="utf-8"))
        except ValueError as e:
            print(f"{truth_file}: not JSON ({e})", file=sys.stderr)
            return 2
        scores.append(score_email(html, truth, config, given))
    total = Score(email="TOTAL", sent="")
    for s in scores:
        total.add(s)
    low_known = total.lowest_given  # "n/a": the adapter states no 30-day lowest price in any email
    if args.json:
        rows = [{**{k: v for k, v in asdict(s).items() if args.verbose or k not in ("offers", "misses")},
                 "recall": round(s.recall, 4), "precision": round(s.precision, 4)} for s in [*scores, total]]
        print(json.dumps({"dir": str(args.dir), "emails": rows[:-1], "total": rows[-1], "unscored": unscored},
                         indent=2, ensure_ascii=False))
        return 0
    w = max([len(s.email) for s in scores] + [20])
    print(f"{'email':{w}} {'sent':24} {'truth':>5} {'read':>5} {'right':>5} {'recall':>7} {'prec':>6} "
          f"{'former':>7} {'low30':>6} {'title':>7}")
    for s in [*scores, total]:
        print(f"{s.email:{w}} {s.sent:24} {s.truth:5} {s.read:5} {s.right:5} {s.recall:7.0%} {s.precision:6.0%} "
              f"{_frac(s.former, s.former_n):>7} {_frac(s.low, s.low_n, low_known):>6} "
              f"{_frac(s.titled, s.right):>7}" + (f"  REFUSED: {s.refused[:100]}" if s.refused else ""))
        if args.verbose and s is not total:
            for line in s.offers:
                print(f"    {line}")
            for line in s.misses:
                print(f"    MISSED {line}")
    for name in unscored:
        print(f"{name}: no truth file, not scored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
