"""`unisono rules test`: small examples in YAML, run through the real publish and check."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from unisono.cli.main import cli


def run(*args: str, project: Path | None = None):
    env = {"UNISONO_PROJECT": str(project)} if project else {}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def project(tmp_path) -> Path:
    assert run("init", str(tmp_path / "p")).exit_code == 0
    return tmp_path / "p"


PARITY_TEST = """\
rules: [default.yaml]
tests:
  - name: the store without the sale
    at: 2026-11-24T12:00
    rules: [price-parity]
    given:
      shop: {online: [{sku: "100203", price: 99.99, sale_price: 79.99, sale: 2026-11-20/2026-11-30}]}
      store:
        "1001": [{sku: "100203", price: 99.99, sale_price: 79.99, sale: 2026-11-20/2026-11-30}]
        "1002": [{sku: "100203", price: 99.99}]
    expect:
      - {rule: price-parity, sku: "100203", locations: ["shop:online", "store:%s"], values: {"store:%s": %s}}
"""


def write_test(project: Path, text: str, name: str = "mine.test.yaml") -> Path:
    path = project / "rules" / name
    path.write_text(text, encoding="utf-8")
    return path


def test_init_writes_tests_for_the_default_rules_and_they_pass(project):
    result = run("rules", "test", project=project)
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output
    cases = result.output.count("  PASS  ")
    assert cases >= 10 and f"{cases} passed, 0 failed" in result.output
    # the test file beside the rules is not taken for a rule file
    assert run("rules", "validate", project=project).exit_code == 0
    assert run("rules", "list", project=project).exit_code == 0


def test_a_test_that_holds_passes_through_both_engines(project):
    path = write_test(project, (PARITY_TEST % ("1002", "1002", "99.99")).replace(
        "    rules:", "    published: 2026-11-20  # the files came out earlier: still what is live\n    rules:"))
    for engine in ("sql", "rete"):
        result = run("rules", "test", str(path), "--engine", engine, project=project)
        assert result.exit_code == 0, result.output
        assert "PASS  the store without the sale (line 3)" in result.output


def test_a_failing_test_shows_what_was_expected_and_what_was_found(project):
    path = write_test(project, PARITY_TEST % ("1001", "1001", "79.99"))
    result = run("rules", "test", str(path), project=project)
    assert result.exit_code == 1
    out = result.output
    assert "FAIL  the store without the sale (line 3)" in out
    assert "- expected: price-parity 100203 at shop:online, store:1001 with store:1001 79.99" in out
    assert "+ found:    price-parity 100203 at shop:online, store:1002 (error)" in out
    assert "Store 1002 charges 99.99 EUR for 100203" in out  # the finding's message, to see why
    assert "differs:  locations, value at store:1001" in out
    assert "0 passed, 1 failed" in out


def test_expect_none_fails_on_any_finding_and_waivers_silence_one(project):
    text = PARITY_TEST.split("    expect:")[0] + "    expect: none\n"
    result = run("rules", "test", str(write_test(project, text)), project=project)
    assert result.exit_code == 1
    assert "+ found, not expected: price-parity 100203 at shop:online, store:1002" in result.output
    waived = text.replace("    expect: none", "    waivers: [{rule: price-parity, sku: \"100203\", location: \"store:1002\"}]\n"
                                               "    expect: none")
    result = run("rules", "test", str(write_test(project, waived)), project=project)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("change, line, words", [
    (("price: 99.99, sale_price", "prise: 99.99, sale_price"), 7, "unknown key 'prise' (did you mean 'price'?)"),
    (("at: 2026-11-24T12:00", "at: 2026-11-24T25:00"), 4, "is not a date"),
    (("at: 2026-11-24T12:00", "at: 2026-13-45"), 4, "'2026-13-45' is not a valid date"),
    (("rules: [price-parity]", "rules: [price-parrity]"), 5, "no rule 'price-parrity' in the rules under test (did you mean 'price-parity'?)"),
    (("sale: 2026-11-20/2026-11-30", "sale: 2026-11-30/2026-11-20"), 7, "ends before it starts"),
    (("    at: 2026-11-24T12:00\n", ""), 3, "give either 'at' or 'window'"),
    (("  - name", "  - nme"), 3, "unknown key 'nme'"),
    (("    rules: [price-parity]", "    published: 2026-11-25\n    rules: [price-parity]"), 5,
     "published 2026-11-25 is after the instant checked"),
    (("    rules: [price-parity]", "    published: 2026-11-20\n    history: [{at: 2026-11-21, shop: {online: []}}]\n"
                                   "    rules: [price-parity]"), 6, "history at 2026-11-21 is not before 'given' is published"),
])
def test_a_malformed_test_file_is_one_line_with_file_and_line_and_exit_2(project, change, line, words):
    path = write_test(project, (PARITY_TEST % ("1002", "1002", "99.99")).replace(*change, 1))
    result = CliRunner().invoke(cli, ["rules", "test", str(path)], env={"UNISONO_PROJECT": str(project)})
    assert result.exit_code == 2, result.output
    assert "PASS" not in result.output and "Traceback" not in result.output
    error = result.output.strip().splitlines()
    assert len(error) == 1 and error[0].startswith(f"Error: {path}:{line}: "), error
    assert words in error[0]


def test_tests_run_outside_a_project_when_they_name_their_rules(project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "default.yaml").write_text((project / "rules" / "default.yaml").read_text(encoding="utf-8"))
    path = elsewhere / "parity.test.yaml"
    path.write_text(PARITY_TEST % ("1002", "1002", "99.99 EUR"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "test", str(path), "--project", str(elsewhere)])
    assert result.exit_code == 0, result.output


def test_a_test_whose_offers_are_not_valid_at_its_instant_is_told_at_its_line(project):
    path = write_test(project, "rules: [default.yaml]\ntests:\n  - name: too early\n    at: 2026-11-24T12:00\n"
                               "    given: {newsletter: {bf: [{sku: '1', price: 9.99, valid: 2026-12-01/2026-12-02}]}}\n"
                               "    expect: none\n")
    result = CliRunner().invoke(cli, ["rules", "test", str(path)], env={"UNISONO_PROJECT": str(project)})
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {path}:3: test 'too early': nothing to check: no offers are live")


def test_what_a_failing_test_prints_never_reaches_the_terminal_raw(project):
    text = (PARITY_TEST % ("1002", "1002", "99.99")).replace('price: 99.99, sale_price', 'title: "Schuh\\e[2J\\u202e", price: 99.99, sale_price', 1)
    text = text.replace('values: {"store:1002": 99.99}', 'values: {"store:1002": 1.00}')
    result = run("rules", "test", str(write_test(project, text)), project=project)
    assert result.exit_code == 1
    assert "Schuh\\x1b[2J\\u202e" in result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output


def test_the_readmes_example_test_passes(project):
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Testing rules"):]
    example = section[section.index("```yaml") + len("```yaml\n"):section.index("```\n", section.index("```yaml") + 7)]
    result = run("rules", "test", str(write_test(project, example)), project=project)
    assert result.exit_code == 0, result.output
    assert "1 passed, 0 failed" in result.output


def test_a_rule_file_given_for_a_test_file_is_told_apart(project):
    rules = project / "rules" / "default.yaml"
    result = CliRunner().invoke(cli, ["rules", "test", str(rules)], env={"UNISONO_PROJECT": str(project)})
    assert result.exit_code == 2
    assert f"{rules}:1: a rule test file is a mapping with 'tests:'" in result.output
    assert "this looks like a rule file: its tests go beside it, in X.test.yaml" in result.output
