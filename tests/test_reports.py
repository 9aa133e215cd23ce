"""Reports of a stored run: what a merchandiser opens in Excel or a browser, what CI reads."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import datetime
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from unisono.cli.main import cli

DEMO = Path(str(files("unisono.demo") / "data"))
AT = "2026-11-24T12:00"
HOSTILE = "<script>alert(1)</script>"


def run(*args: str, project: Path):
    return CliRunner().invoke(cli, list(args), env={"UNISONO_PROJECT": str(project)}, catch_exceptions=False)


@pytest.fixture
def project(tmp_path) -> Path:
    """The demo retailer, reconciled at AT: 7 findings of 3 rules, a 4th rule (reference price) with none."""
    p = tmp_path / "p"
    assert run("init", str(p), project=p).exit_code == 0
    for channel, name in [("shop", "shop_feed.xml"), ("store", "store_prices.csv"), ("newsletter", "newsletter.html")]:
        shutil.copy(DEMO / name, p / name)
        assert run("publish", channel, str(p / name), "--published-at", "2026-11-19T06:00", project=p).exit_code == 0
    assert run("reconcile", "--at", AT, "--format", "json", project=p).exit_code == 1
    return p


@pytest.fixture
def hostile(tmp_path) -> Path:
    """A shop and a store that disagree on products whose titles are markup and formulas, checked in a window."""
    p = tmp_path / "h"
    assert run("init", str(p), project=p).exit_code == 0
    feed = ['<?xml version="1.0"?><rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>']
    rows = ["store;sku;price"]
    for sku, title in [("A1", HOSTILE), ("A2", "=HYPERLINK(\"http://evil\",\"x\")"), ("A3", "@SUM(1+1) & <b>")]:
        feed.append(f"<item><g:id>{sku}</g:id><g:title><![CDATA[{title}]]></g:title><g:price>10.00 EUR</g:price>"
                    f"<g:availability>in_stock</g:availability><g:link>https://x.test/{sku}</g:link></item>")
        rows.append(f"1001;{sku};12,50")
    feed.append("</channel></rss>")
    (p / "feed.xml").write_text("".join(feed), encoding="utf-8")
    (p / "prices.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    for channel, name in [("shop", "feed.xml"), ("store", "prices.csv")]:
        assert run("publish", channel, str(p / name), "--published-at", "2026-11-19T06:00", project=p).exit_code == 0
    assert run("check", "--window", "2026-11-24/2026-11-25", "--save", project=p).exit_code == 1
    return p


def report(project: Path, path: Path, *args: str):
    result = run("report", "--output", str(path), *args, project=project)
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize("name", ["r.xlsx", "r.html", "r.xml", "r.csv", "r.json", "r.md"])
def test_a_report_into_a_new_folder_makes_it_and_one_below_a_file_is_a_one_line_error(project, tmp_path, name):
    path = tmp_path / "reports" / "2026-11" / name
    result = run("report", "--output", str(path), project=project)
    assert result.exit_code == 0 and path.stat().st_size > 0, result.output
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    below = tmp_path / "a-file" / name
    result = run("report", "--output", str(below), project=project)
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: cannot write {below}: {tmp_path / 'a-file'} is a file, not a folder"


def sheet_rows(ws) -> list[dict]:
    rows = list(ws.iter_rows())
    head = [c.value for c in rows[0]]
    return [dict(zip(head, r)) for r in rows[1:]]


# -- XLSX ----------------------------------------------------------------------------------------

def test_xlsx_has_a_summary_with_every_rule_and_a_sheet_per_rule_with_numbers(project, tmp_path):
    wb = openpyxl.load_workbook(report(project, tmp_path / "r.xlsx"))
    assert wb.sheetnames == ["Summary", "price-parity", "newsletter-price-honoured", "advertised-in-shop",
                             "reference-price-30-days", "newsletter-claims-hold", "newsletter-service-claims",
                             "advertised-in-stock-in-stores", "title-and-brand-drift"]
    summary = [[c.value for c in row] for row in wb["Summary"].iter_rows()]
    counts = {r[0]: r[4] for r in summary if r and r[0] in wb.sheetnames}
    assert counts == {"price-parity": 4, "newsletter-price-honoured": 1, "advertised-in-shop": 2,
                      "advertised-in-stock-in-stores": 0, "title-and-brand-drift": 0, "reference-price-30-days": 0,
                      "newsletter-claims-hold": 0, "newsletter-service-claims": 0}
    assert ["as of", datetime(2026, 11, 24, 12, 0)] == summary[3][:2]
    where = [r[0] for r in summary].index("location (where to act)")  # as the terminal's "By location"
    assert [r[:2] for r in summary[where + 1:]] == [["newsletter:newsletter", 3], ["store:1002", 2], ["store:1003", 2]]
    parity = sheet_rows(wb["price-parity"])
    assert len(parity) == 4
    by_sku = {r["sku"].value: r for r in parity}
    row = by_sku["100085"]  # the shop's 25.19 EUR against store 1002's 30.19 EUR
    assert (row["location 1"].value, row["location 2"].value) == ("shop:online", "store:1002")
    assert (row["value 1"].value, row["value 2"].value, row["difference"].value) == (25.19, 30.19, pytest.approx(5))
    assert row["value 2"].data_type == "n" and row["value 2"].number_format == '#,##0.00 "EUR"'
    assert row["status"].value == "new"
    assert "from" not in by_sku["100085"] and "message" in by_sku["100085"]  # an instant: no interval columns
    ws = wb["price-parity"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    # a rule without findings: only what it could not judge, marked (the demo has no 30 days of history)
    undecided = sheet_rows(wb["reference-price-30-days"])
    assert undecided and {r["status"].value for r in undecided} == {"undecided"}
    assert all("Cannot judge" in r["message"].value for r in undecided)


def test_xlsx_dates_are_dates_and_no_feed_text_becomes_a_formula(hostile, tmp_path):
    wb = openpyxl.load_workbook(report(hostile, tmp_path / "h.xlsx"))
    rows = sheet_rows(wb["price-parity"])
    titles = {r["title"].value for r in rows}
    assert titles == {HOSTILE, "=HYPERLINK(\"http://evil\",\"x\")", "@SUM(1+1) & <b>"}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            assert all(c.data_type != "f" for c in row)
    formulaish = [r["title"] for r in rows if r["title"].value[0] in "=@"]
    assert formulaish and all(c.quotePrefix for c in formulaish)  # edited in Excel, still text
    first = rows[0]
    assert first["from"].is_date and first["from"].value == datetime(2026, 11, 24, 0, 0)
    assert first["to"].value == datetime(2026, 11, 26, 0, 0)  # a date-only end includes its day
    assert first["difference"].value == pytest.approx(2.5)


# -- HTML ----------------------------------------------------------------------------------------

class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[tuple[dict, str]] = []
        self.refs: list[str] = []
        self._in: dict | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.refs += [v for k, v in attrs.items() if k in ("src", "href", "action", "xlink:href") and v]
        if tag == "script":
            self._in = attrs
            self.scripts.append((attrs, ""))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = None

    def handle_data(self, data):
        if self._in is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        else:
            self.text.append(data)


def test_html_is_self_contained_and_shows_every_rule(project, tmp_path):
    html = report(project, tmp_path / "r.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(html)
    assert page.refs == [] and not re.search(r"(?:src|href|url)\s*[=(]\s*[\"']?https?://", html)
    assert "@import" not in html and "default-src 'none'" in html
    text = " ".join(page.text)
    assert "FAIL" in text and "24.11.2026 12:00" in text and "reference-price-30-days" in text
    assert html.index("Rules") < html.index("Findings per rule") < html.index('id="rows"')  # summary first
    rows = json.loads(next(t for a, t in page.scripts if a.get("id") == "rows"))
    standing = [r for r in rows if r[2] == "new"]
    assert len(standing) == 7 and {r[0] for r in standing} == {"price-parity", "newsletter-price-honoured",
                                                                "advertised-in-shop"}
    # the rest: what the rules could not judge (too short a history, a claim whose scope matches nothing)
    assert {r[2] for r in rows if r not in standing} == {"undecided"}
    assert "Trend over the last reconcile runs" in html


def test_a_window_check_is_titled_by_its_window_as_people_say_it(hostile, tmp_path):
    html = report(hostile, tmp_path / "w.html").read_text(encoding="utf-8")
    # --window 2026-11-24/2026-11-25: both whole days (not "to 26.11.2026 00:00")
    assert "<title>unisono check 24.11.–25.11.2026</title>" in html and "over 24.11.–25.11.2026 ·" in html
    md = report(hostile, tmp_path / "w.md").read_text(encoding="utf-8")
    assert md.startswith("# unisono check over 24.11.–25.11.2026\n")
    shown = run("check", "--window", "2026-11-24/2026-11-24", "--format", "md", project=hostile).output
    assert shown.startswith("# unisono check over 24.11.2026\n")


def test_html_shows_a_script_in_a_title_as_text(hostile, tmp_path):
    html = report(hostile, tmp_path / "h.html").read_text(encoding="utf-8")
    assert HOSTILE not in html  # neither as markup nor inside the JSON block
    page = _Page()
    page.feed(html)
    data = next(t for a, t in page.scripts if a.get("id") == "rows")
    assert "<" not in data and ">" not in data and "&" not in data
    titles = {r[4] for r in json.loads(data)}
    assert HOSTILE in titles and "@SUM(1+1) & <b>" in titles  # the page puts them in with textContent
    executable = [t for a, t in page.scripts if a.get("type") != "application/json"]
    assert len(executable) == 1 and "innerHTML" not in executable[0]


# -- JUnit ---------------------------------------------------------------------------------------

def test_junit_has_a_suite_per_rule_a_failure_per_finding_and_a_passing_case_for_a_clean_rule(project, tmp_path):
    root = ET.parse(report(project, tmp_path / "junit.xml")).getroot()
    assert root.tag == "testsuites" and (root.get("tests"), root.get("failures")) == ("12", "7")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["price-parity", "newsletter-price-honoured", "advertised-in-shop",
                            "reference-price-30-days", "newsletter-claims-hold", "newsletter-service-claims",
                            "advertised-in-stock-in-stores", "title-and-brand-drift"]
    parity = suites["price-parity"]
    assert (parity.get("tests"), parity.get("failures")) == ("4", "4")
    assert len(parity.findall("testcase/failure")) == 4
    clean = suites["reference-price-30-days"].findall("testcase")
    assert len(clean) == 1 and clean[0].find("failure") is None


def test_junit_fail_on_blocker_turns_errors_into_passing_cases(project, tmp_path):
    root = ET.parse(report(project, tmp_path / "junit.xml", "--fail-on", "blocker")).getroot()
    assert (root.get("tests"), root.get("failures")) == ("12", "0")
    assert len(root.findall(".//system-out")) == 7


def test_junit_is_valid_xml_with_markup_and_control_characters(hostile, tmp_path):
    from unisono.reports.junit import clean

    assert clean("a\x00b\x1bc\ud800") == "a\ufffdb\ufffdc\ufffd"
    root = ET.parse(report(hostile, tmp_path / "h.xml", "--format", "junit")).getroot()
    names = [c.get("name") for c in root.iter("testcase")]
    assert any(HOSTILE in n for n in names)


# -- CSV -----------------------------------------------------------------------------------------

def test_csv_for_german_excel_has_a_bom_semicolons_and_decimal_commas(project, tmp_path):
    path = report(project, tmp_path / "r.csv", "--csv-dialect", "excel-de")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    mine = [r for r in rows if r["sku"] == "100085"]
    assert [(r["location"], r["value"], r["currency"], r["difference"]) for r in mine] == [
        ("shop:online", "25,19", "EUR", ""), ("store:1002", "30,19", "EUR", "5,00")]
    assert len({r["fingerprint"] for r in rows if r["status"] != "undecided"}) == 7
    # what a rule could not judge is listed too, marked (the demo has no 30 days of price history)
    assert {r["rule"] for r in rows if r["status"] == "undecided"} >= {"reference-price-30-days"}


def test_plain_csv_stays_what_machines_read_and_neutralises_formulas(hostile, tmp_path):
    text = report(hostile, tmp_path / "h.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["values"] for r in rows][0] == "shop:online: 10.00 EUR | store:1001: 12.50 EUR"
    assert {r["title"] for r in rows} == {HOSTILE, "'=HYPERLINK(\"http://evil\",\"x\")", "'@SUM(1+1) & <b>"}


# -- JSON, the run chosen, --output of check ------------------------------------------------------

def test_json_report_of_a_stored_run_has_the_check_shape_and_every_rule(project, tmp_path):
    doc = json.loads(report(project, tmp_path / "r.json").read_text(encoding="utf-8"))
    live = json.loads(run("check", "--at", AT, "--format", "json", project=project).output)
    assert set(doc) == {"findings", "waived", "undecided", "summary"}
    assert {f["fingerprint"] for f in doc["findings"]} == {f["fingerprint"] for f in live["findings"]}
    assert doc["summary"]["by_rule"] == live["summary"]["by_rule"] == {
        "price-parity": 4, "newsletter-price-honoured": 1, "advertised-in-shop": 2,
        "advertised-in-stock-in-stores": 0, "title-and-brand-drift": 0, "reference-price-30-days": 0,
        "newsletter-claims-hold": 0, "newsletter-service-claims": 0}
    assert doc["summary"]["status"] == {"new": 7, "open": 0, "resolved": 0}


def test_report_names_a_run_and_a_second_reconcile_shows_resolved_findings(project, tmp_path):
    # publish a corrected store file: store 1002 now charges the shop's price for 100085
    lines = (project / "store_prices.csv").read_bytes().split(b"\r\n")
    wrong = [i for i, line in enumerate(lines) if line.startswith(b"1002;100085;")]
    assert len(wrong) == 1 and b"30,19" in lines[wrong[0]]
    lines[wrong[0]] = lines[wrong[0]].replace(b"30,19", b"25,19")
    (project / "fixed.csv").write_bytes(b"\r\n".join(lines))
    assert run("publish", "store", str(project / "fixed.csv"), "--published-at", "2026-11-25T06:00",
               project=project).exit_code == 0
    assert run("reconcile", "--at", "2026-11-25T12:00", project=project).exit_code == 1
    doc = json.loads(run("report", "--format", "json", project=project).output)
    resolved = [f for f in doc["findings"] if f.get("status") == "resolved"]
    assert [f["sku"] for f in resolved] == ["100085"] and doc["summary"]["status"]["resolved"] == 1
    first = json.loads(run("report", "#1", "--format", "json", project=project).output)
    assert first["summary"]["run"] == 1 and first["summary"]["status"]["resolved"] == 0
    html = report(project, tmp_path / "t.html").read_text(encoding="utf-8")
    assert html.count("<title>#") == 2  # the trend: one bar per reconcile run


def test_check_output_writes_the_file_and_keeps_its_exit_code(project, tmp_path):
    out = tmp_path / "check.xml"
    result = run("check", "--at", AT, "--output", str(out), project=project)
    assert result.exit_code == 1 and "Rules: price-parity 4" in result.output
    assert ET.parse(out).getroot().get("failures") == "7"


def test_report_mistakes_are_one_line_and_exit_2(project, tmp_path):
    for args, said in [(["report", "99"], "no run #99"), (["report", "x1"], "RUN must be a run number"),
                       (["report", "--output", str(tmp_path / "r.pdf")], "cannot tell the report format"),
                       (["report", "--format", "xlsx"], "give --output FILE")]:
        result = run(*args, project=project)
        assert result.exit_code == 2 and said in result.output and "Traceback" not in result.output


def test_a_project_without_runs_says_so(tmp_path):
    p = tmp_path / "empty"
    run("init", str(p), project=p)
    result = run("report", project=p)
    assert result.exit_code == 2 and "no run in the catalog yet" in result.output


def test_a_run_keeps_its_rules_and_its_findings_read_back_in_chunks_on_every_backend(catalog, monkeypatch):
    from datetime import timezone

    from unisono.catalog import runs
    from unisono.domain.findings import Finding, RuleInfo, Severity

    monkeypatch.setattr(runs, "CHUNK", 3)  # several pages of the keyset read
    rules = [RuleInfo(id="price-parity", title="Same price", kind="parity", severity=Severity.error),
             RuleInfo(id="quiet", title=None, kind="presence", severity=Severity.warning)]
    findings = [Finding(rule="price-parity", kind="parity", severity=Severity.error, sku=f"S{i}",
                        channels=["shop", "store"], locations=["shop:online", "store:1"],
                        values={"shop:online": "10.00 EUR", "store:1": "12.50 EUR"}, message="m", sources=[])
                for i in range(7)]
    run_id = runs.record_run(catalog, kind="check", at=datetime(2026, 11, 24, 11, tzinfo=timezone.utc),
                             engine_name="sql", ruleset_hash="h", findings=findings, rules=rules)
    assert runs.rules_of_run(catalog, run_id) == rules
    assert [f.sku for f in runs.iter_run_findings(catalog, run_id)] == [f"S{i}" for i in range(7)]
    assert runs.find_run(catalog).id == run_id and runs.find_run(catalog, run_id + 1) is None


# ---- in a real browser: headless Chromium (Debian's; .ci/run installs it) --------------------------

def _chromium() -> str:
    import os

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("CI must install Debian's chromium (.ci/run does)")
    pytest.skip("no chromium: apt-get install chromium")


def _rendered(page: Path, tmp_path: Path) -> str:
    """The document as Chromium holds it after its scripts ran (offline: no network at all)."""
    import subprocess

    out = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'chromium'}", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_in_a_browser_the_report_lists_every_finding_and_runs_no_markup_from_a_title(tmp_path):
    p = tmp_path / "b"
    assert run("init", str(p), project=p).exit_code == 0
    titles = ['<img src=x onerror="document.body.dataset.pwned=1">',
              '</script><script>document.body.dataset.pwned=2</script>', "Wanderschuh Alpin"]
    feed = ['<?xml version="1.0"?><rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>']
    rows = ["store;sku;price"]
    for i, title in enumerate(titles):
        feed.append(f"<item><g:id>B{i}</g:id><g:title><![CDATA[{title}]]></g:title><g:price>10.00 EUR</g:price>"
                    f"<g:link>https://x.test/B{i}</g:link></item>")
        rows.append(f"1001;B{i};12,50")
    (p / "feed.xml").write_text("".join(feed) + "</channel></rss>", encoding="utf-8")
    (p / "prices.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    for channel, name in [("shop", "feed.xml"), ("store", "prices.csv")]:
        assert run("publish", channel, str(p / name), "--published-at", "2026-11-19T06:00", project=p).exit_code == 0
    page = tmp_path / "report.html"
    assert run("check", "--at", AT, "--output", str(page), project=p).exit_code == 1

    dom = _rendered(page, tmp_path)
    table = re.search(r'<table id="findings">(.*?)</table>', dom, re.S).group(1)
    assert table.count('<tr class="finding">') == 3  # the script ran: a row per finding
    assert "3 of 3 findings" in dom
    assert "pwned" not in re.search(r"<body[^>]*>", dom).group(0)  # no title's markup ran
    assert "&lt;img src=x onerror=" in dom and "&lt;/script&gt;&lt;script&gt;" in dom  # shown as text


def test_a_report_narrows_like_check_and_refuses_a_rule_the_run_does_not_know(project, tmp_path):
    out = report(project, tmp_path / "store-1002.json", "--store", "1002", "--format", "json")
    doc = json.loads(out.read_text())
    assert doc["findings"] and all(any(loc == "store:1002" for loc in f["locations"]) for f in doc["findings"])
    assert doc["summary"]["findings"] == len(doc["findings"]) == 2  # the counts follow the selection
    limited = json.loads(report(project, tmp_path / "one.json", "--limit", "1", "--format", "json").read_text())
    assert len(limited["findings"]) == 1
    typo = run("report", "--rule", "price-partiy", "--format", "json", project=project)
    assert typo.exit_code == 2 and "price-parity" in typo.output and "Traceback" not in typo.output


def test_a_stored_run_keeps_its_waived_and_undecided_findings_apart_from_the_comparison(project, tmp_path):
    assert run("waive", "price-parity", "100085", "--reason", "Abverkauf in 1002", project=project).exit_code == 0
    assert run("reconcile", "--at", "2026-11-24T13:00", project=project).exit_code == 1
    stored = json.loads(run("report", "--format", "json", project=project).output)
    live = json.loads(run("check", "--at", "2026-11-24T13:00", "--format", "json", project=project).output)
    fingerprints = lambda fs: sorted(f["fingerprint"] for f in fs)  # noqa: E731
    assert [f["sku"] for f in stored["waived"]] == ["100085"] and "Abverkauf" in json.dumps(stored["waived"])
    assert fingerprints(stored["waived"]) == fingerprints(live["waived"])
    assert fingerprints(stored["undecided"]) == fingerprints(live["undecided"])
    assert stored["summary"]["undecided"] == len(live["undecided"])
    # waived is neither resolved now nor open later: the comparison is over the findings that stand
    assert stored["summary"]["status"] == {"new": 0, "open": 6, "resolved": 0}
    assert not [f for f in stored["findings"] if f["status"] == "resolved"]  # nor listed as resolved
    assert run("waivers", "remove", "1", project=project).exit_code == 0
    assert run("reconcile", "--at", "2026-11-24T14:00", project=project).exit_code == 1
    again = json.loads(run("report", "--format", "json", project=project).output)
    # back in the findings once its waiver is gone: open (it was there, set apart, all along), not new
    assert [f["status"] for f in again["findings"] if f["sku"] == "100085"] == ["open"]
    assert again["summary"]["status"]["new"] == 0
    sheet = openpyxl.load_workbook(report(project, tmp_path / "w.xlsx", "#2"))["price-parity"]
    assert [r["status"].value for r in sheet_rows(sheet) if r["sku"].value == "100085"] == ["waived"]
