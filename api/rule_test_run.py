"""Running rule tests: each case in a catalog of its own (a temporary SQLite file), filled through
the real publish path and checked by Project.check, the engines `unisono check` uses.

    report = run_test_file(Path("rules/default.test.yaml"), project)   # project: None outside one
    for case in report.cases: case.passed, case.missing, case.unexpected, case.near

Nothing is mocked: offers become domain Offers published with publish_stream, waivers are written
by the catalog's own writer, and the findings compared are the ones a check would report.
"""
from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from unisono.api.project import Project
from unisono.api.rule_tests import Case, Channels, Expected, OfferSpec, read_test_file, rules_under_test
from unisono.catalog.publish import publish_stream
from unisono.catalog.waivers import add_waiver
from unisono.channels.parsing import normalize_url, parse_instant, parse_interval
from unisono.domain.config import ProjectConfig
from unisono.domain.findings import Finding, money
from unisono.domain.models import Claim, InputError, Offer, SourceRef
from unisono.rules.messages import did_you_mean
from unisono.rules.yaml_lines import line_of


@dataclass
class Publication:
    channel: str
    at: datetime
    offers: list[Offer]


@dataclass
class Prepared:
    """A case made concrete: instants parsed, offers built, rules chosen. Built for every case of a
    file before any runs, so a mistake anywhere in the file is reported before a PASS is printed."""

    case: Case
    line: int
    at: datetime | None
    window: tuple[datetime, datetime] | None
    publications: list[Publication]
    waivers: list[dict]
    rules: list


@dataclass
class CaseResult:
    name: str
    line: int
    missing: list[Expected] = field(default_factory=list)  # expected, not found
    unexpected: list[Finding] = field(default_factory=list)  # found, not expected
    near: list[tuple[Expected, Finding, list[str]]] = field(default_factory=list)  # same rule and sku, else differs
    waived: list[Finding] = field(default_factory=list)  # found and covered by a waiver of the case (never compared)

    @property
    def passed(self) -> bool:
        return not (self.missing or self.unexpected or self.near)


@dataclass
class FileReport:
    path: Path
    cases: list[CaseResult]


def run_test_file(path: Path, project: Project | None, *, engine: str = "sql") -> FileReport:
    from unisono.rules import load_rules

    spec, lines = read_test_file(path)
    rule_files = rules_under_test(path, spec)
    if rule_files is None and project is None:
        raise InputError(f"{path}:1: name the rule files under test ('rules: [default.yaml]'), "
                         "put it beside them as X.test.yaml, or run it inside a project")
    for f in rule_files or []:
        if not f.is_file():
            raise InputError(f"{path}:{line_of(lines, ('rules',))}: rule file {f} does not exist")
    rules = load_rules(rule_files or project.rule_paths())
    config = project.config if project is not None else ProjectConfig()
    prepared = [_prepare(path, lines, i, case, rules, config) for i, case in enumerate(spec.tests)]
    return FileReport(path, [_run(path, p, config, engine) for p in prepared])


def _prepare(path: Path, lines: dict, i: int, case: Case, rules: list, config: ProjectConfig) -> Prepared:
    tz = config.tz
    here = ("tests", i)

    def fail(loc: tuple, message: str) -> InputError:
        return InputError(f"{path}:{line_of(lines, here + loc)}: test {case.name!r}: {message}")

    def instant(text: str, loc: tuple, *, end_of_day: bool = False) -> datetime:
        try:
            return parse_instant(text, tz, what=loc[-1], clamp=False, end_of_day=end_of_day)
        except ValueError as e:
            raise fail(loc, f"{e} (e.g. 2026-11-24T12:00 or 2026-11-24)") from None

    def interval(text: str, loc: tuple) -> tuple[datetime, datetime]:
        try:
            return parse_interval(text, tz, what=str(loc[-1]), clamp=False)
        except ValueError as e:
            raise fail(loc, f"{e} (e.g. 2026-11-20/2026-11-30)") from None

    window = interval(case.window, ("window",)) if case.window else None
    at = instant(case.at, ("at",)) if case.at else None
    start = window[0] if window else at
    if case.published:  # the given state published earlier: it is what was live from then on
        published = instant(case.published, ("published",))
        if published > start:
            raise fail(("published",), f"published {case.published} is after the instant checked: nothing would be live")
        start = published
    ids = {r.id for r in rules}
    for j, rid in enumerate([*(case.rules or []), *(e.rule for e in case.expect if case.expect != "none")]):
        if rid not in ids:
            loc = ("rules", j) if j < len(case.rules or []) else ("expect", j - len(case.rules or []), "rule")
            raise fail(loc, f"no rule {rid!r} in the rules under test{did_you_mean(rid, ids)}")
    chosen = [r for r in rules if case.rules is None or r.id in case.rules]

    def offers_of(channels: Channels, loc: tuple) -> dict[str, list[Offer]]:
        out: dict[str, list[Offer]] = {}
        for channel in ("shop", "store", "newsletter"):
            given = getattr(channels, channel)
            if not given:
                continue
            per_location = {str(k): (loc + (channel, k), v) for k, v in given.items()}
            out[channel] = [
                _offer(s, channel, location, path.name, line_of(lines, here + where + (n,)), config.currency,
                       lambda text, what: interval(text, where + (n, what)))
                for location, (where, specs) in per_location.items() for n, s in enumerate(specs)
            ]
        return out

    publications = []
    for n, snap in enumerate(case.history):
        when = instant(snap.at, ("history", n, "at"))
        if when >= start:
            raise fail(("history", n, "at"), f"history at {snap.at} is not before 'given' is published")
        publications += [Publication(ch, when, o) for ch, o in offers_of(snap, ("history", n)).items()]
    given = offers_of(case.given, ("given",))
    if case.claims:  # published with the newsletter, as publishing an email stores them
        given["newsletter"] = [*given.get("newsletter", []), *_claims(case, config, path, lines, here, interval)]
    publications += [Publication(ch, start, o) for ch, o in given.items()]
    waivers = [dict(rule=w.rule, sku=w.sku, location=w.location, reason=w.reason,
                    until=instant(w.until, ("waivers", n, "until"), end_of_day=True) if w.until else None)
               for n, w in enumerate(case.waivers)]
    return Prepared(case, line_of(lines, here), at, window, publications, waivers, chosen)


def _claims(case: Case, config: ProjectConfig, path: Path, lines: dict, here: tuple, interval) -> list[Claim]:
    from unisono.channels.claim_terms import block_claim, parse_terms

    out = []
    issues = {str(k): v for k, v in (case.given.newsletter or {}).items()}
    for n, c in enumerate(case.claims):
        said = block_claim(c.text, c.product) if c.product else None
        terms = said[0] if said else parse_terms(c.text, config.currency)
        valid = interval(c.valid, ("claims", n, "valid")) if c.valid else None
        if valid is None and issues.get(c.location) and issues[c.location][0].valid:
            valid = interval(issues[c.location][0].valid, ("given", "newsletter", c.location, 0, "valid"))
        out.append(Claim(channel="newsletter", location=c.location, kind=terms.type if terms else "other", text=c.text,
                         terms=terms, source=SourceRef(file=path.name, line=line_of(lines, here + ("claims", n))),
                         valid_from=valid[0] if valid else None, valid_to=valid[1] if valid else None))
    return out


def _offer(spec: OfferSpec, channel: str, location: str, file: str, line: int, currency: str, interval) -> Offer:
    sale = interval(spec.sale, "sale") if spec.sale else (None, None)
    valid = interval(spec.valid, "valid") if spec.valid else (None, None)
    gtin = spec.gtin.zfill(14) if spec.gtin and spec.gtin.isdigit() else spec.gtin
    return Offer(
        channel=channel, location=location, sku=spec.sku, gtin=gtin, url=normalize_url(spec.url), title=spec.title,
        brand=spec.brand, category=spec.category, currency=spec.currency or currency, price=spec.price,
        sale_price=spec.sale_price, sale_start=sale[0], sale_end=sale[1], valid_from=valid[0], valid_to=valid[1],
        reference_price=spec.reference_price, discount_percent=spec.discount_percent, lowest_30d=spec.lowest_30d,
        availability=spec.availability, source=SourceRef(file=file, line=line),
    )


def _run(path: Path, p: Prepared, config: ProjectConfig, engine: str) -> CaseResult:
    with tempfile.TemporaryDirectory(prefix="unisono-rule-test-") as folder:
        project = Project(Path(folder), config.model_copy(update={"database": None}),
                          f"sqlite:///{Path(folder) / 'catalog.db'}")
        try:
            for pub in p.publications:
                digest = hashlib.sha256(f"{pub.channel} {pub.at.isoformat()} {pub.offers!r}".encode()).hexdigest()
                publish_stream(project.engine, pub.channel, pub.offers, notes=[], source=f"{pub.channel} (rule test)",
                               sha256=digest, published_at=pub.at)
            for w in p.waivers:
                add_waiver(project.engine, **w)
            try:
                result = project.check(p.at, window=p.window, rules=p.rules, engine=engine, record=False)
            except InputError as e:  # e.g. no offer valid at the instant: the test's mistake, said at its line
                raise InputError(f"{path}:{p.line}: test {p.case.name!r}: {e}") from None
        finally:
            project.engine.dispose()
    return compare(p.case, p.line, list(result.findings), list(result.waived))


def compare(case: Case, line: int, found: list[Finding], waived: list[Finding]) -> CaseResult:
    """Each expectation takes one finding that fits it; what is left over on either side is the diff.
    A finding of the same rule and product that differs otherwise is shown beside its expectation."""
    out = CaseResult(case.name, line, waived=waived)
    expected = [] if case.expect == "none" else list(case.expect)
    left = list(found)
    for e in expected:
        fit = next((f for f in left if not differences(e, f)), None)
        if fit is not None:
            left.remove(fit)
        else:
            out.missing.append(e)
    for e in list(out.missing):
        close = next((f for f in left if f.rule == e.rule and e.sku in (None, f.sku)), None)
        if close is not None:
            left.remove(close)
            out.missing.remove(e)
            out.near.append((e, close, differences(e, close)))
    out.unexpected = left
    return out


def differences(e: Expected, f: Finding) -> list[str]:
    """What of an expectation a finding does not have: [] when it fits."""
    if e.rule != f.rule or e.sku not in (None, f.sku):
        return ["rule or sku"]
    diff = []
    if e.locations is not None and sorted(e.locations) != sorted(f.locations):
        diff.append("locations")
    if e.severity is not None and e.severity != f.severity:
        diff.append("severity")
    for where, value in (e.values or {}).items():
        if not _same_value(value, f.values.get(where)):
            diff.append(f"value at {where}")
    return diff


def _same_value(expected: str, actual: str | None) -> bool:
    """'99.99', 99.99 and '99.99 EUR' all fit a finding's '99.99 EUR'."""
    if actual is None:
        return False
    if expected.strip() == actual:
        return True
    got = money(actual)
    try:
        want = money(expected.strip()) or (Decimal(expected.strip()), got[1] if got else "")
    except InvalidOperation:
        return False
    return got is not None and (want[0], want[1]) == got
