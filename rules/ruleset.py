"""Rule files: YAML in, validated Rule models out, every mistake as "file:line: what is wrong".

A rule file is `rules: [ ... ]` (or a bare list). A new kind is a module with a RuleBase
subclass, added to `Rule` below.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from unisono.rules.claim import ClaimRule
from unisono.rules.content import ContentRule
from unisono.rules.expression import ExpressionRule
from unisono.rules.messages import did_you_mean
from unisono.rules.parity import ParityRule
from unisono.rules.presence import PresenceRule
from unisono.rules.promotion import PromotionRule
from unisono.rules.reference_price import ReferencePriceRule
from unisono.rules.window import WindowRule
from unisono.rules.yaml_lines import YamlProblem, line_of, load_with_lines

KINDS = {"parity": ParityRule, "presence": PresenceRule, "expression": ExpressionRule,
         "reference_price": ReferencePriceRule, "window": WindowRule, "promotion": PromotionRule, "claim": ClaimRule,
         "content": ContentRule}
Rule = Annotated[Union[ParityRule, PresenceRule, ExpressionRule, ReferencePriceRule, WindowRule, PromotionRule,
                       ClaimRule, ContentRule], Field(discriminator="kind")]
_RULE = TypeAdapter(Rule)
TEST_SUFFIXES = (".test.yaml", ".test.yml")  # rule tests beside the rules (`unisono rules test`), never rules


class RuleFile(BaseModel):
    """A rule file: `rules:` and a list of rules. (A bare list of rules is accepted too.)"""

    model_config = ConfigDict(extra="forbid", title="unisono rules")
    rules: list[Rule] = Field(default_factory=list)


class RuleError(Exception):
    """The rules cannot be used. str(): every problem, one per line, "file:line: ..."."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ItemFile:
    """A YAML file of items, each validated as a model: a rule file (`rules:`) or a promotion
    file (`promotions:`, rules/promotion.py). Both load, and tell mistakes, the same way."""

    key: str  # the top-level key: rules
    noun: str  # one item, in messages: rule
    shape: str  # what one item looks like: "id: ..., kind: ..., ..."
    adapter: TypeAdapter
    model: Callable[[dict], type[BaseModel]]  # the model an item is validated as (for its valid keys)


RULE_FILE = ItemFile("rules", "rule", "id: ..., kind: ..., ...", _RULE,
                     lambda item: KINDS.get(item.get("kind"), ParityRule))
PROMOTION_FILE = ItemFile("promotions", "promotion", "id: ..., window: ..., discount: ..., ...",
                          TypeAdapter(PromotionRule), lambda item: PromotionRule)


def default_rules_path() -> Path:
    return Path(__file__).with_name("default_rules.yaml")


def rules_json_schema() -> dict:
    """JSON Schema of the files `rules validate` takes, for editors (yaml-language-server's
    `# yaml-language-server: $schema=`) and standard validators (check-jsonschema): a rule file
    (`rules:`), a bare list of rules, or a promotion file (`promotions:`).

    A rule is chosen by its kind with if/then, not by OpenAPI's `discriminator` (which standard
    validators ignore, so a wrong kind came out as "'channels', 'fields' were unexpected"): the kind
    must be one of the known ones (the error names it), then the rule is checked as that kind."""
    from unisono.rules.promotion import PromotionRule

    schema = RuleFile.model_json_schema(ref_template="#/$defs/{model}")
    defs = schema.pop("$defs")
    defs["Rule"] = {
        "type": "object", "title": "Rule", "required": ["id", "kind"],
        "properties": {"kind": {"enum": list(KINDS), "description": "What the rule checks."}},
        "allOf": [{"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                   "then": {"$ref": f"#/$defs/{model.__name__}"}} for kind, model in KINDS.items()],
    }
    rule_list = {"type": "array", "items": {"$ref": "#/$defs/Rule"}}
    described(defs, [RuleFile, *KINDS.values()])
    promotion = defs["PromotionRule"]  # in a promotion file, the kind goes without saying
    defs["Promotion"] = {**promotion, "required": [r for r in promotion.get("required", []) if r != "kind"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "unisono rules",
        "type": ["object", "array"],
        "properties": {"rules": {**rule_list, "title": "Rules"},
                       "promotions": {"type": "array", "items": {"$ref": "#/$defs/Promotion"}, "title": "Promotions"}},
        "additionalProperties": False,
        "maxProperties": 1,
        "items": {"$ref": "#/$defs/Rule"},
        "$defs": defs,
    }


def described(defs: dict, models: list[type[BaseModel]]) -> None:
    """Each model's fields documented in the schema by the docstring under them (read here, when a
    schema is asked for, not by pydantic at every import: that costs a third of a second per command)."""
    seen: set[type] = set()
    todo = list(models)
    while todo:
        model = todo.pop()
        if model in seen or not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        seen.add(model)
        docs = _field_docs(model)
        properties = defs.get(model.__name__, {}).get("properties", {})
        for name, field in model.model_fields.items():
            key = field.alias or name
            if key in properties and name in docs and not properties[key].get("description"):
                properties[key]["description"] = docs[name]
            todo += [m for m in (_model_in(field.annotation),) if m is not None]


def _field_docs(model: type) -> dict[str, str]:
    """{field: its docstring} of a class and the classes it inherits from (the nearest wins)."""
    import ast
    import inspect
    import textwrap

    docs: dict[str, str] = {}
    for cls in reversed([c for c in model.__mro__ if issubclass(c, BaseModel) and c is not BaseModel]):
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for field, doc in zip(body, body[1:]):
            if (isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name) and isinstance(doc, ast.Expr)
                    and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str)):
                docs[field.target.id] = inspect.cleandoc(doc.value.value)
    return docs


def load_rules(paths: list[Path]) -> list[Rule]:
    rules, problems = _load(paths)
    if problems:
        raise RuleError(problems)
    return rules


def validate(paths: list[Path]) -> list[str]:
    """Every problem in rule files, and in promotion files (those whose top-level key is
    `promotions:`), as "file:line: what is wrong"."""
    files = _rule_files(paths)
    promotions = [f for f in files if _is_promotion_file(f)]
    rules = [f for f in files if f not in promotions]
    return (_load(rules)[1] if rules else []) + (load_items(promotions, PROMOTION_FILE)[1] if promotions else [])


def _is_promotion_file(path: Path) -> bool:
    try:
        return re.search(r"^promotions\s*:", path.read_text(encoding="utf-8", errors="replace"), re.M) is not None
    except OSError:
        return False


def _rule_files(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for the *.yaml / *.yml files in it, sorted (but X.test.yaml)."""
    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(f for f in p.iterdir() if f.suffix in (".yaml", ".yml") and not f.name.endswith(TEST_SUFFIXES)) \
            if p.is_dir() else [p]
    return files


def _load(paths: list[Path]) -> tuple[list[Rule], list[str]]:
    return load_items(paths, RULE_FILE)


def load_items(paths: list[Path], spec: ItemFile) -> tuple[list[Any], list[str]]:
    """The items of the files (folders: their *.yaml / *.yml) and every problem, "file:line: ..."."""
    rules: list[Any] = []
    problems: list[str] = []
    first_seen: dict[str, str] = {}  # id -> "file:line"
    for path in _rule_files(paths):
        for rule, line in _load_file(path, problems, spec):
            if rule.id in first_seen:
                problems.append(f"{path}:{line}: duplicate {spec.noun} id {rule.id!r} (first defined at {first_seen[rule.id]})")
                continue
            first_seen[rule.id] = f"{path}:{line}"
            rules.append(rule)
    return rules, problems


def _load_file(path: Path, problems: list[str], spec: ItemFile) -> list[tuple[Any, int]]:
    """The file's items with their lines; its problems added to `problems` in line order."""
    start = len(problems)
    try:
        return _read_items(path, problems, spec)
    finally:
        prefix = len(f"{path}:")
        problems[start:] = sorted(problems[start:], key=lambda p: int(p[prefix:].split(":", 1)[0] or 0))


def _read_items(path: Path, problems: list[str], spec: ItemFile) -> list[tuple[Any, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        problems.append(f"{path}:1: cannot read the file: {e}")
        return []
    try:
        data, lines, duplicates = load_with_lines(text)
    except YamlProblem as e:
        problems.append(f"{path}:{e.line}: {e.message}")
        return []
    problems += [f"{path}:{line}: {what}" for line, what in duplicates]
    if data is None:
        return []  # an empty file holds no rules
    if isinstance(data, dict):
        unknown = [k for k in data if k != spec.key]
        for k in unknown:
            problems.append(f"{path}:{line_of(lines, (k,))}: unknown top-level key {k!r} "
                            f"(a {spec.noun} file has only '{spec.key}:')")
        items, prefix = data.get(spec.key) or [], (spec.key,)
    else:
        items, prefix = data, ()
    if not isinstance(items, list):
        problems.append(f"{path}:{line_of(lines, prefix)}: '{spec.key}' must be a list of {spec.noun}s "
                        "(each starting with '- id: ...')")
        return []
    loaded = []
    for i, item in enumerate(items):
        here = prefix + (i,)
        if not isinstance(item, dict):
            line = line_of(lines, here)
            problems.append(f"{path}:{line}: {spec.noun} #{i + 1}: a {spec.noun} is a mapping ({spec.shape}), not {item!r}")
            continue
        try:
            loaded.append((spec.adapter.validate_python(item), line_of(lines, here)))
        except ValidationError as e:
            rule_id = item.get("id")
            named = f"{spec.noun} {rule_id!r}: " if rule_id else f"{spec.noun} #{i + 1}: "
            for err in e.errors():
                loc = _strip_tag(err["loc"], item)
                if err["type"] == "union_tag_invalid" and "kind" in item:
                    loc = ("kind",)  # said at the kind: line
                if loc and isinstance(loc[-1], int) and here + loc not in lines and here + loc[:-1] in lines:
                    loc = loc[:-1]  # `field: prise` was one value, not a list: no index to show
                where = ".".join(str(p) for p in loc) if err["type"] != "union_tag_invalid" else ""
                model = spec.model(item)
                for told in _explain(err, loc, model).split("\n"):  # an expression's mistakes: one line each
                    what = f"{where}: {told}" if where else told
                    problems.append(f"{path}:{line_of(lines, here + loc)}: {named}{what}")
    return loaded


def _strip_tag(loc: tuple, item: dict) -> tuple:
    # a discriminated union puts the kind in front of the field path: ('parity', 'channels', 1)
    if loc and loc[0] == item.get("kind") and loc[0] in KINDS:
        return tuple(loc[1:])
    return tuple(loc)


def _explain(err: dict, loc: tuple, model: type[BaseModel]) -> str:
    """pydantic's error, told in the rule author's words."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "union_tag_invalid":
        return f"unknown kind {ctx.get('tag')!r}{did_you_mean(str(ctx.get('tag')), KINDS)} (valid kinds: {', '.join(KINDS)})"
    if kind == "union_tag_not_found":
        return f"missing 'kind' (one of: {', '.join(KINDS)})"
    if kind == "extra_forbidden":
        model = _model_at(model, loc[:-1])
        valid = [f.validation_alias.choices[0] if hasattr(f.validation_alias, "choices") else name
                 for name, f in model.model_fields.items()]
        return f"unknown key {loc[-1]!r}{did_you_mean(str(loc[-1]), valid)} (valid keys: {', '.join(valid)})"
    if kind == "missing":
        return "this required key is missing"
    if kind in ("enum", "literal_error"):
        valid = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"unknown value {err['input']!r}{did_you_mean(str(err['input']), valid)} (valid: {ctx.get('expected')})"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return f"{err['msg'][:1].lower()}{err['msg'][1:]} (got {err['input']!r})"


explain_error = _explain  # for other YAML files of the rule author's (rule tests, api/rule_tests.py)


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel]:
    """The model that holds the last key of a path: where -> Scope, discount -> Discount."""
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        inner = _model_in(field.annotation) if field is not None else None
        if inner is not None:
            model = inner
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_in, get_args(annotation)) if m is not None), None)
