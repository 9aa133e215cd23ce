"""Hostile YAML (rule, promotion and config files): deep nesting, alias bombs and huge files are
refused with file:line in one line, in seconds, never a RecursionError."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from unisono.cli.main import cli

DEEP = "rules:\n  - id: x\n    title: " + "[" * 5000 + "]" * 5000 + "\n"
BOMB = "\n".join(["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
                 + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 12)]
                 + ["rules:", "  - id: bomb", "    kind: parity", "    title: *a11"]) + "\n"
SELF = "rules: &a [*a]\n"  # a list that holds itself
HUGE = "rules:\n  - id: r\n    kind: parity\n    title: " + "x" * 2_100_000 + "\n"
CASES = [(DEEP, "deep.yaml:3: not valid YAML: nested more than 50 levels deep"),
         (BOMB, "bomb.yaml:6: not valid YAML: its aliases expand to more than 200,000 values"),
         (SELF, "self.yaml:1: not valid YAML: an alias (*name) stands inside the node it names (&name)"),
         (HUGE, "huge.yaml:1: the file has 2,100,046 characters; unisono reads YAML files of up to 2,000,000")]


def run(*args: str, project: Path):
    return CliRunner().invoke(cli, list(args), env={"UNISONO_PROJECT": str(project), "UNISONO_DB": None})


@pytest.fixture
def project(tmp_path) -> Path:
    assert run("init", str(tmp_path / "p"), project=tmp_path).exit_code == 0
    return tmp_path / "p"


@pytest.mark.parametrize("text, message", CASES, ids=["deep", "bomb", "self", "huge"])
@pytest.mark.parametrize("as_", ["rules validate", "promotion"])
def test_a_hostile_rule_or_promotion_file_is_refused_with_its_line(project, text, message, as_):
    name = message.split(":")[0]
    (project / name).write_text(text, encoding="utf-8")
    started = time.monotonic()
    args = ["rules", "validate", str(project / name)] if as_ == "rules validate" else \
        ["check", "--promotion", str(project / name)]
    result = run(*args, project=project)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output and "internal error" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert time.monotonic() - started < 20  # (a bound, not a measurement: the bomb took minutes before)


@pytest.mark.parametrize("text, message", CASES[:3], ids=["deep", "bomb", "self"])
def test_a_hostile_config_file_is_refused_with_its_line(project, text, message):
    (project / "unisono.yaml").write_text(text.replace("rules:", "store:"), encoding="utf-8")
    result = run("runs", project=project)
    assert result.exit_code == 2
    line = message.replace(message.split(":")[0], "unisono.yaml")
    assert line in result.output and len(result.output.strip().splitlines()) == 1, result.output


def test_a_config_file_that_is_not_utf_8_is_refused_with_its_line(project):
    (project / "unisono.yaml").write_bytes("timezone: Europe/Berlin\nstore:\n  location: Köln\n".encode("cp1252"))
    result = run("runs", project=project)
    assert result.exit_code == 2
    assert "unisono.yaml:3: not UTF-8 text (byte 0xf6); save it as UTF-8" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "internal error" not in result.output


def test_a_key_given_twice_in_the_config_is_refused_with_its_line(project):
    # safe_load would keep the second `store:` silently and drop the first one's settings
    (project / "unisono.yaml").write_text("timezone: Europe/Berlin\nstore:\n  location: '1002'\n"
                                           "store:\n  delimiter: ';'\n", encoding="utf-8")
    result = run("runs", project=project)
    assert result.exit_code == 2
    assert "unisono.yaml:4: not valid YAML: key 'store' appears twice in one mapping" in result.output
    assert len(result.output.strip().splitlines()) == 1
