"""YAML with line numbers: the data, plus the line of every mapping key, list item and value.

PyYAML's safe_load forgets where things were; composing the node tree first keeps
`start_mark`, so an error in rules[3].channels[1] can say "rules.yaml:27".
"""
from __future__ import annotations

from typing import Any

import yaml

from unisono.domain.yaml_limits import LimitedLoader

Path_ = tuple[Any, ...]


class YamlProblem(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def load_with_lines(text: str) -> tuple[Any, dict[Path_, int], list[tuple[int, str]]]:
    """Returns (data, {path: line}, [(line, problem)]) for duplicate keys. Raises YamlProblem."""
    try:
        loader = LimitedLoader(text)  # depth, aliases and size bounded
    except yaml.YAMLError as e:
        raise YamlProblem(1, str(e)) from None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlProblem(line, f"not valid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise YamlProblem(1, f"not valid YAML: {e}") from None
    except ValueError as e:  # a date YAML recognises but cannot construct: 2026-13-45
        line, value = _bad_timestamp(loader, node)
        raise YamlProblem(line, f"{value!r} is not a valid date: {e}") from None
    finally:
        loader.dispose()
    lines: dict[Path_, int] = {}
    duplicates: list[tuple[int, str]] = []
    if node is not None:
        _walk(node, (), lines, duplicates, set())
    return data, lines, duplicates


def _bad_timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> tuple[int, str]:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.ScalarNode) and n.tag == "tag:yaml.org,2002:timestamp":
            try:
                loader.construct_yaml_timestamp(n)
            except ValueError:
                return n.start_mark.line + 1, n.value
        elif isinstance(n, yaml.MappingNode):
            stack += [v for kv in n.value for v in kv]
        elif isinstance(n, yaml.SequenceNode):
            stack += n.value
    return 1, ""


def _walk(node: yaml.Node, path: Path_, lines: dict, duplicates: list, seen: set[int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in seen:  # an alias: walked once already (and never expanded: no billion laughs)
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            if key in keys:
                duplicates.append((key_node.start_mark.line + 1, f"key {key!r} appears twice in one mapping"))
            keys.add(key)
            lines.setdefault(path + (key,), key_node.start_mark.line + 1)
            _walk(value_node, path + (key,), lines, duplicates, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines, duplicates, seen)


def line_of(lines: dict[Path_, int], path: Path_) -> int:
    """The line of the deepest known prefix of path (a missing key points at its parent)."""
    for n in range(len(path), -1, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return 1
