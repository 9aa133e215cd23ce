"""The rule language: what loads, and every mistake told as "file:line: what is wrong"."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from unisono.rules import RuleError, default_rules_path, load_rules, rules_json_schema, validate
from unisono.rules.expression import ExpressionRule
from unisono.rules.parity import ParityRule
from unisono.rules.presence import PresenceRule
from unisono.rules.ruleset import KINDS


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    return validate([write(tmp_path, text)])


# -- what loads ---------------------------------------------------------------------------

def test_default_ruleset_has_the_ids_other_code_relies_on():
    rules = load_rules([default_rules_path()])
    assert [r.id for r in rules] == ["price-parity", "newsletter-price-honoured", "advertised-in-shop",
                                     "reference-price-30-days", "newsletter-claims-hold", "newsletter-service-claims",
                                     "advertised-in-stock-in-stores", "title-and-brand-drift"]
    parity, honoured, advertised, reference, *_claims = rules
    assert (parity.kind, parity.channels, parity.fields) == ("parity", ["shop", "store"], ["price", "effective_price"])
    assert (honoured.channels, honoured.fields) == (["newsletter", "shop"], ["effective_price"])
    assert str(parity.tolerance) == str(honoured.tolerance) == "0.01"
    assert (advertised.when_in, advertised.require_in, advertised.require_available) == ("newsletter", ["shop"], True)
    assert (reference.kind, reference.days, reference.history_channel) == ("reference_price", 30, {"newsletter": "shop"})
    # payment and service claims, stock in the stores and title or brand drift warn
    assert [r.severity.value for r in rules] == ["error"] * 5 + ["warning"] * 3


def test_the_commented_out_examples_in_the_default_rules_are_valid_rules(tmp_path):
    text = default_rules_path().read_text(encoding="utf-8")
    examples = text.split("# --- More rules to adapt", 1)[1].split("\n", 1)[1]
    # uncomment the example block: "#  - id: ..." -> "  - id: ..."
    uncommented = "rules:\n" + "\n".join(line[1:] for line in examples.splitlines() if line.startswith("#"))
    rules = load_rules([write(tmp_path, uncommented)])
    assert {r.kind for r in rules} == {"parity", "presence", "expression"}
    assert any(r.where and r.unless for r in rules)


def test_a_bare_list_of_rules_and_single_values_are_accepted(tmp_path):
    path = write(tmp_path, """
        - id: sale-parity
          kind: parity
          field: sale_price
          channels: [shop, store]
        - id: in-stores
          kind: presence
          when_in: shop
          require_in: store
    """)
    parity, presence = load_rules([path])
    assert isinstance(parity, ParityRule) and parity.fields == ["sale_price"]
    assert isinstance(presence, PresenceRule) and presence.require_in == ["store"]


def test_a_folder_stands_for_its_rule_files(tmp_path):
    write(tmp_path, "rules: [{id: a, kind: presence, when_in: newsletter, require_in: [shop]}]", "a.yaml")
    write(tmp_path, "rules: [{id: b, kind: expression, when: \"shop.price > 1000\"}]", "b.yml")
    write(tmp_path, "not rules", "notes.txt")
    write(tmp_path, "tests: [{name: x}]", "a.test.yaml")  # the rules' tests (`unisono rules test`) are no rules
    assert [r.id for r in load_rules([tmp_path])] == ["a", "b"]


def test_a_date_yaml_cannot_build_is_a_problem_at_its_line(tmp_path):
    text = "promotions:\n  - id: bf\n    window: 2026-13-45\n    discount: {percent: 20}\n    channels: [shop]\n"
    assert validate([write(tmp_path, text, "bf.yaml")]) == [
        f"{tmp_path / 'bf.yaml'}:3: '2026-13-45' is not a valid date: month must be in 1..12"]


def test_store_ids_written_as_numbers_are_names(tmp_path):
    (rule,) = load_rules([write(tmp_path, """
        rules:
          - id: city-stores
            kind: parity
            field: price
            channels: [shop, store]
            where: {store: [1042, 1043], sku: 100203}
    """)])
    assert rule.where.store == ["1042", "1043"] and rule.where.sku == ["100203"]


# -- mistakes, with file and line ------------------------------------------------------------

def test_an_unknown_kind_is_told_at_its_kind_line_with_the_valid_kinds_and_the_nearest(tmp_path):
    problems = problems_of(tmp_path, """
        rules:
          - id: ok
            kind: presence
            when_in: newsletter
            require_in: [shop]
          - id: typo
            kind: paraty
    """)
    assert len(problems) == 1
    assert problems[0].endswith(f"rules.yaml:7: rule 'typo': unknown kind 'paraty' (did you mean 'parity'?) "
                                f"(valid kinds: {', '.join(KINDS)})")
    assert list(KINDS)[:3] == ["parity", "presence", "expression"]


def test_a_missing_kind_is_reported(tmp_path):
    (problem,) = problems_of(tmp_path, "rules:\n  - id: no-kind\n    channels: [shop, store]\n")
    assert problem.endswith(f"rules.yaml:2: rule 'no-kind': missing 'kind' (one of: {', '.join(KINDS)})")


def test_an_unknown_key_points_at_its_line_and_lists_the_valid_keys(tmp_path):
    (problem,) = problems_of(tmp_path, """
        rules:
          - id: price-parity
            kind: parity
            fields: [price]
            channels: [shop, store]
            tolerence: 0.01
    """)
    assert ":6: rule 'price-parity': tolerence: unknown key 'tolerence'" in problem
    assert "tolerance" in problem and "relative_tolerance" in problem


def test_an_unknown_field_lists_the_valid_fields(tmp_path):
    (problem,) = problems_of(tmp_path, """
        rules:
          - id: price-parity
            kind: parity
            fields:
              - price
              - prise
            channels: [shop, store]
    """)
    assert ":6: rule 'price-parity': fields.1: unknown value 'prise'" in problem
    assert "'effective_price'" in problem


def test_an_unknown_channel_lists_the_valid_channels(tmp_path):
    (problem,) = problems_of(tmp_path, """
        rules:
          - id: price-parity
            kind: parity
            fields: [price]
            channels:
              - shop
              - stroe
    """)
    assert problem.endswith(":7: rule 'price-parity': channels.1: unknown channel 'stroe' (did you mean 'store'?) "
                            "(valid channels: shop, store, newsletter)")


def test_a_bad_severity_lists_the_valid_ones(tmp_path):
    (problem,) = problems_of(tmp_path, """
        rules:
          - id: advertised
            kind: presence
            when_in: newsletter
            require_in: [shop]
            severity: critical
    """)
    assert ":6: rule 'advertised': severity: unknown value 'critical'" in problem
    assert "'blocker'" in problem


def test_a_missing_required_key_points_at_the_rule(tmp_path):
    (problem,) = problems_of(tmp_path, "rules:\n  - id: half\n    kind: presence\n    when_in: newsletter\n")
    assert problem.endswith(":2: rule 'half': require_in: this required key is missing")


def test_an_id_must_be_a_slug(tmp_path):
    (problem,) = problems_of(tmp_path, "rules:\n  - id: Price Parity\n    kind: presence\n    when_in: store\n    require_in: [shop]\n")
    assert ":2: rule 'Price Parity': id: rule id 'Price Parity' is not a slug" in problem


def test_a_duplicate_rule_id_across_files_names_where_it_was_first_defined(tmp_path):
    first = write(tmp_path, "rules:\n  - {id: twice, kind: presence, when_in: store, require_in: [shop]}\n", "a.yaml")
    second = write(tmp_path, "rules:\n  - id: other\n    kind: presence\n    when_in: store\n    require_in: [shop]\n"
                             "  - id: twice\n    kind: presence\n    when_in: store\n    require_in: [shop]\n", "b.yaml")
    with pytest.raises(RuleError) as e:
        load_rules([first, second])
    assert str(e.value) == f"{second}:6: duplicate rule id 'twice' (first defined at {first}:2)"


def test_broken_yaml_is_reported_with_its_line(tmp_path):
    (problem,) = problems_of(tmp_path, "rules:\n  - id: a\n    kind: [parity\n")
    assert re.match(r".*rules\.yaml:\d+: not valid YAML: ", problem)


def test_a_key_written_twice_in_one_rule_is_reported(tmp_path):
    problems = problems_of(tmp_path, "rules:\n  - id: a\n    kind: presence\n    when_in: store\n    when_in: shop\n    require_in: [newsletter]\n")
    assert any(p.endswith(":5: key 'when_in' appears twice in one mapping") for p in problems)


def test_all_problems_are_reported_at_once_one_per_line(tmp_path):
    path = write(tmp_path, """
        rules:
          - id: one
            kind: presence
            when_in: newsletter
            require_in: [shopp]
          - id: two
            kind: parity
            fields: [price]
            channels: [shop, store]
            severity: high
    """)
    with pytest.raises(RuleError) as e:
        load_rules([path])
    lines = str(e.value).splitlines()
    assert [line.split(": rule ")[0] for line in lines] == [f"{path}:5", f"{path}:10"]
    assert e.value.problems == lines


def test_unknown_scope_keys_and_values_are_reported(tmp_path):
    problems = problems_of(tmp_path, """
        rules:
          - id: scoped
            kind: presence
            when_in: newsletter
            require_in: [shop]
            where:
              stores: [1042]
            unless:
              availability: sold_out
    """)
    assert any(":7: rule 'scoped': where.stores: unknown key 'stores' (did you mean 'store'?) "
               "(valid keys: sku, brand, category, store, channel, availability)" in p
               for p in problems)
    assert any(":9: rule 'scoped': unless.availability: unknown availability 'sold_out'" in p for p in problems)


def test_a_presence_rule_cannot_require_its_own_channel(tmp_path):
    (problem,) = problems_of(tmp_path, "rules:\n  - {id: self, kind: presence, when_in: shop, require_in: [shop]}\n")
    assert "the when_in channel itself" in problem


# -- expressions ---------------------------------------------------------------------------

def expression_problem(tmp_path: Path, when: str) -> str:
    path = write(tmp_path, "rules:\n  - id: expr\n    kind: expression\n    severity: warning\n    when: \"\"\n")
    path.write_text(path.read_text().replace('when: ""', "when: " + _yaml_string(when)))
    (problem,) = validate([path])
    assert f"{path}:5: rule 'expr': when: " in problem, problem
    return problem.split("when: ", 1)[1]


def _yaml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_a_valid_expression_loads(tmp_path):
    (rule,) = load_rules([write(tmp_path, """
        rules:
          - id: typo-guard
            kind: expression
            when: newsletter.effective_price < shop.price * 0.5 AND shop.availability IN ('in_stock', 'preorder')
    """)])
    assert isinstance(rule, ExpressionRule)


def test_a_malformed_expression_is_reported(tmp_path):
    assert expression_problem(tmp_path, "shop.price >").startswith("cannot read the condition")
    assert expression_problem(tmp_path, "(shop.price > 1").startswith("cannot read the condition")


@pytest.mark.parametrize("when, says", [
    ("shop.price > 1; DROP TABLE live_offers", "';' and anything after it are not allowed"),
    ("shop.price > (SELECT max(price_cents) FROM live_offers)", "subqueries are not allowed"),
    ("lower(shop.title) = 'x'", "function LOWER() is not allowed"),
    ("sleep(5) = 0", "function SLEEP() is not allowed"),
    ("price > 10", "name a field as <channel>.<field>"),
    ("stroe.price > 10", "unknown channel 'stroe' (did you mean 'store'?) in 'stroe.price' (valid channels: shop, store, newsletter)"),
    ("shop.prise > 10", "unknown field 'prise' (did you mean 'price'?) in 'shop.prise' (valid fields: price, sale_price,"),
    ("live_offers.shop.price > 10", "name a field as <channel>.<field>"),
    ("shop.price", "is a value, not a condition"),
    ("shop.sku = 100203", "compares text with a number (quote text: '100203')"),
    ("shop.title + 1 > 2", "'shop.title' is text, but a number is needed here"),
    ("shop.sale_price = NULL", "write IS NULL or IS NOT NULL"),
    ("shop.price > :limit", "is not allowed; a condition may use comparisons"),
    ("shop.title LIKE '%x%'", "is not allowed; a condition may use comparisons"),
    ("shop.availability IN (SELECT availability FROM live_offers)", "IN takes a list of values"),
])
def test_forbidden_expression_constructs_are_reported(tmp_path, when, says):
    assert says in expression_problem(tmp_path, when)


def test_every_mistake_of_an_expression_is_reported_each_on_its_own_line(tmp_path):
    path = write(tmp_path, """
        rules:
          - id: typo
            kind: expression
            when: newsleter.effective_price < shop.prise * 0.5 AND shop.title > 3 AND LOWER(shop.title) = 'x'
    """)
    problems = validate([path])
    assert [p.split(": when: ")[0] for p in problems] == [f"{path}:4: rule 'typo'"] * 4
    said = [p.split(": when: ")[1] for p in problems]
    assert said[0].startswith("unknown channel 'newsleter' (did you mean 'newsletter'?)")
    assert said[1].startswith("unknown field 'prise' (did you mean 'price'?)")
    assert said[2] == "'shop.title > 3' compares text with a number (quote text: '100203')"
    assert said[3] == "function LOWER() is not allowed; the only function is ABS()"


def test_a_mistake_is_told_once_not_again_by_what_contains_it(tmp_path):
    # the unknown field makes `shop.prise * 2` unknown too: no "compares a number with ..." after it
    (problem,) = validate([write(tmp_path, "rules: [{id: t, kind: expression, when: 'shop.prise * 2 > 3'}]")])
    assert "unknown field 'prise'" in problem


@pytest.mark.parametrize("template, says", [
    ("{x.__class__}", "unknown message placeholder {x.__class__}"),
    ("{sku.__class__.__mro__}", "unknown message placeholder {sku.__class__.__mro__}"),
    ("{sku!r}", "may not have a conversion or format"),
    ("{shop.price:>40}", "may not have a conversion or format"),
    ("{store.price}", "unknown message placeholder {store.price}"),  # the rule compares newsletter and shop only
    ("{}", "unknown message placeholder {}"),
    ("price {", "message template is malformed"),
    ("{location} {sku} {value} {location}", "unknown message placeholders {location}, {value} (use"),  # all, once
])
def test_message_templates_allow_only_plain_known_placeholders(tmp_path, template, says):
    path = write(tmp_path, "rules:\n  - id: t\n    kind: parity\n    fields: [price]\n    channels: [newsletter, shop]\n"
                           f"    message: {_yaml_string(template)}\n")
    (problem,) = validate([path])
    assert says in problem


def test_the_json_schema_describes_every_kind_for_editors():
    schema = rules_json_schema()
    assert {"rules", "promotions"} <= set(schema["properties"])
    defs = schema["$defs"]
    assert {"ParityRule", "PresenceRule", "ExpressionRule", "Scope"} <= set(defs)
    assert defs["ParityRule"]["properties"]["channels"]["items"]["enum"] == ["shop", "store", "newsletter"]
    assert defs["ParityRule"]["additionalProperties"] is False
    assert "description" in defs["ParityRule"]["properties"]["tolerance"]


def test_the_default_rules_satisfy_the_json_schema():
    import jsonschema
    import yaml

    jsonschema.validate(yaml.safe_load(default_rules_path().read_text()), rules_json_schema())


def _schema_errors(document) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(rules_json_schema())
    return [e.message for e in validator.iter_errors(document)]


def test_a_standard_validator_names_a_wrong_kind_and_nothing_else():
    errors = _schema_errors({"rules": [{"id": "p", "kind": "parrity", "channels": ["shop", "store"], "fields": ["price"]}]})
    assert len(errors) == 1 and "'parrity' is not one of" in errors[0]


def test_the_json_schema_takes_what_rules_validate_takes_and_refuses_what_it_refuses():
    parity = {"id": "p", "kind": "parity", "channels": ["shop", "store"], "fields": ["price"]}
    promotion = {"id": "bf", "window": "2026-11-27/2026-11-30", "discount": {"percent": 20}, "channels": ["shop"]}
    assert _schema_errors([parity]) == []  # a bare list of rules
    assert _schema_errors({"promotions": [promotion]}) == []  # a promotion file
    assert _schema_errors({"rules": [{**parity, "tolerence": 1}]})  # a key the kind does not have
    assert _schema_errors({"rules": [parity], "campaigns": []})  # a top-level key no file has


@pytest.mark.parametrize("when, quoted", [
    ("newsletter.price < < shop.price", "'< <' in 'newsletter.price < < shop.price'"),
    ("newsletter.price & shop.price > 1", "'&' in 'newsletter.price & shop.price'"),
])
def test_an_operator_that_is_not_allowed_is_quoted_as_written(tmp_path, when, quoted):
    (problem,) = problems_of(tmp_path, f"rules:\n  - id: x\n    kind: expression\n    when: {when}\n    severity: warning\n")
    assert f"{quoted} is not allowed" in problem, problem
    assert "<<" not in problem
