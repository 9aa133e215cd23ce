"""Rule test files: a small example in YAML, and the findings the rules must (not) give on it.

    rules: [default.yaml]          # optional: default X.yaml beside X.test.yaml, else the project's rules
    tests:
      - name: a store that does not grant the shop's sale is flagged
        at: 2026-11-24T12:00         # or window: 2026-11-27/2026-11-30
        rules: [price-parity]        # optional: only these rules run
        given:                       # per channel and location, only the fields that matter
          shop: {online: [{sku: "100", price: 99.99, sale_price: 79.99, sale: 2026-11-20/2026-11-30}]}
          store: {"1002": [{sku: "100", price: 99.99}]}
        history: [{at: 2026-10-01, shop: {online: [{sku: "100", price: 99.99}]}}]   # optional
        claims: [{location: bf-2026, text: "20 % auf alle Schuhe"}]                   # optional
        waivers: [{rule: price-parity, sku: "100", location: "store:1003"}]          # optional
        expect:                      # or `expect: none`
          - {rule: price-parity, sku: "100", locations: ["shop:online", "store:1002"]}

This module reads and validates the file (every mistake "file:line: ..."); rule_test_run.py runs
the cases through the same publish and check as the real commands.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from unisono.domain.findings import Severity
from unisono.domain.models import Availability, InputError
from unisono.rules.ruleset import TEST_SUFFIXES, explain_error
from unisono.rules.yaml_lines import YamlProblem, line_of, load_with_lines


def _text(value: Any) -> Any:
    """YAML reads 2026-11-24 as a date and 100203 as a number: a test means the text."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


Text = Annotated[str, BeforeValidator(_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OfferSpec(_Strict):
    """One offer: only what the test is about; the currency defaults to the project's."""

    sku: Text | None = None
    gtin: Text | None = None
    url: str | None = None
    title: str | None = None
    brand: str | None = None
    category: str | None = None
    currency: str | None = None
    price: Decimal
    sale_price: Decimal | None = None
    sale: Text | None = None  # the sale window "start/end" (a date-only end includes that day); default open
    valid: Text | None = None  # the offer's own validity "start/end" (a newsletter's "gültig bis")
    reference_price: Decimal | None = None
    discount_percent: Decimal | None = None
    lowest_30d: Decimal | None = None
    availability: Availability | None = None


Located = dict[Text, list[OfferSpec]]  # location -> its offers: {online: [...]}, {"1002": [...]}, {bf-2026: [...]}


class Channels(_Strict):
    shop: Located | None = None
    store: Located | None = None
    newsletter: Located | None = None


class Snapshot(Channels):
    at: Text
    """When these offers were published (history: before the case's instant)."""


class ClaimSpec(_Strict):
    """A statement of the newsletter in words ("20 % auf alle Schuhe"), read as publishing reads it."""

    location: Text  # the newsletter issue it is part of (give that offers too)
    text: str
    valid: Text | None = None  # when it holds "start/end"; default the issue's offers' validity, else open
    product: Text | None = None  # said beside this product ("nur online" in its block)


class WaiverSpec(_Strict):
    rule: str
    sku: Text
    location: Text | None = None
    until: Text | None = None
    reason: str = "accepted in a rule test"


class Expected(_Strict):
    rule: str
    sku: Text | None = None  # a claim's finding is keyed by the claim (claim:…): leave it out, name the locations
    locations: list[Text] | None = None
    severity: Severity | None = None
    values: dict[Text, Annotated[str, BeforeValidator(_text)]] | None = None


class Case(_Strict):
    name: str
    at: Text | None = None
    window: Text | None = None
    rules: list[str] | None = None
    published: Text | None = None  # when `given` was published (default: the instant checked, the window's start)
    given: Channels
    history: list[Snapshot] = Field(default_factory=list)
    claims: list[ClaimSpec] = Field(default_factory=list)
    waivers: list[WaiverSpec] = Field(default_factory=list)
    expect: list[Expected] | Literal["none"]

    @field_validator("expect", mode="before")
    @classmethod
    def _none(cls, v: Any) -> Any:
        return [] if v is None or v == [] else v


class TestFile(_Strict):
    rules: Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)] | None = None
    tests: list[Case] = Field(min_length=1)


def read_test_file(path: Path) -> tuple[TestFile, dict]:
    """The file and the line of every key and item in it. InputError("file:line: ...") on the
    first mistake: a malformed test cannot pass or fail, so nothing of the file runs."""
    try:
        data, lines, duplicates = load_with_lines(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}:1: cannot read the test file: {e}") from None
    except YamlProblem as e:
        raise InputError(f"{path}:{e.line}: {e.message}") from None
    if duplicates:
        raise InputError(f"{path}:{duplicates[0][0]}: {duplicates[0][1]}")
    if not isinstance(data, dict) or "tests" not in data:
        what = " (this looks like a rule file: its tests go beside it, in X.test.yaml)" \
            if isinstance(data, (dict, list)) and ("rules" in data or isinstance(data, list)) else ""
        raise InputError(f"{path}:1: a rule test file is a mapping with 'tests:' (and optionally 'rules:'){what}")
    try:
        parsed = TestFile.model_validate(data)
    except ValidationError as e:
        # the first in the file; of those on one line, a wrong key before the key it misses ("prise")
        err = min(e.errors(), key=lambda r: (line_of(lines, _path(r["loc"])), r["type"] == "missing"))
        loc = _path(err["loc"])
        raise InputError(f"{path}:{line_of(lines, loc)}: {'.'.join(map(str, loc))}: "
                         f"{explain_error(err, loc, _model_for(loc))}") from None
    for i, case in enumerate(parsed.tests):
        if (case.at is None) == (case.window is None):
            raise InputError(f"{path}:{line_of(lines, ('tests', i))}: test {case.name!r}: give either 'at' or 'window'")
        if not any((case.given.shop, case.given.store, case.given.newsletter)):
            raise InputError(f"{path}:{line_of(lines, ('tests', i, 'given'))}: test {case.name!r}: 'given' has no offers")
    return parsed, lines


def _path(loc: tuple) -> tuple:
    """pydantic's location without the names it gives the alternatives of a union (list[Expected])."""
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p == "str")))


def _model_for(loc: tuple) -> type[BaseModel]:
    """The model that holds the last key of a path, for "valid keys: ..." in a message."""
    names = [p for p in loc[:-1] if isinstance(p, str)]
    last = names[-1] if names else None
    if last in ("shop", "store", "newsletter") or (len(names) >= 2 and names[-2] in ("shop", "store", "newsletter")):
        return OfferSpec
    return {"tests": Case, "given": Channels, "history": Snapshot, "waivers": WaiverSpec, "claims": ClaimSpec,
            "expect": Expected}.get(last, TestFile)


def is_test_file(path: Path) -> bool:
    return path.name.endswith(TEST_SUFFIXES)


def test_files(paths: list[Path]) -> list[Path]:
    """The test files named, and those in the folders named."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(q for q in p.iterdir() if is_test_file(q))
        elif p.exists():
            found.append(p)
        else:
            raise InputError(f"{p}: no such file or folder")
    return found


def rules_under_test(path: Path, spec: TestFile) -> list[Path] | None:
    """The rule files a test file names (relative to it), else X.yaml beside X.test.yaml; None:
    the project's rules."""
    if spec.rules:
        return [path.parent / r for r in spec.rules]
    stem = path.name.removesuffix(".test.yaml").removesuffix(".test.yml")
    beside = [path.parent / f"{stem}{ext}" for ext in (".yaml", ".yml")]
    return next(([b] for b in beside if b.is_file()), None)
