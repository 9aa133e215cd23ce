"""YAML as people write it, read with limits: rule, promotion and config files are small and flat.

A file nested hundreds of levels deep would end in a RecursionError, and a few lines of aliases
("billion laughs") expand into more values than validating them can get through; both are refused
with the line where the limit was passed, as is a file too large to be a hand-written one.
"""
from __future__ import annotations

import yaml
from yaml.composer import ComposerError

MAX_DEPTH = 50  # mappings and lists inside each other; a rule file needs about five
MAX_ALIASES = 100  # "*name" references
MAX_CHARS = 2_000_000  # about 2 MB of text
MAX_VALUES = 200_000  # values once aliases are expanded, as validating them will meet them


class LimitedLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses deep nesting, many aliases and huge texts (a MarkedYAMLError
    with the line, or a YAMLError for the size)."""

    def __init__(self, stream):
        if isinstance(stream, str) and len(stream) > MAX_CHARS:
            raise yaml.YAMLError(f"the file has {len(stream):,} characters; unisono reads YAML files of up to "
                                 f"{MAX_CHARS:,} (split it into several files)")
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise ComposerError(None, None, f"more than {MAX_ALIASES} aliases (*name)", self.peek_event().start_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self):
        node = super().compose_document()
        _expanded_size(node, {})
        return node


def _expanded_size(node, sizes: dict) -> int:
    """How many values `node` stands for with its aliases expanded (each shared node counted once
    per use, computed once): a ComposerError at the first node past MAX_VALUES."""
    if id(node) in sizes:
        if sizes[id(node)] is None:  # `&a [*a]`: a node inside itself, endless once expanded
            raise ComposerError(None, None, "an alias (*name) stands inside the node it names (&name)",
                                node.start_mark)
        return sizes[id(node)]
    sizes[id(node)] = None
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(item, sizes) for item in node.value)
    else:
        size = 1
    if size > MAX_VALUES:
        raise ComposerError(None, None, f"its aliases expand to more than {MAX_VALUES:,} values", node.start_mark)
    sizes[id(node)] = size
    return size


def load_limited(text: str):
    """yaml.safe_load with the limits, refusing a key given twice in one mapping (safe_load keeps
    the last one silently: a config's second `store:` would undo its first without a word)."""
    loader = LimitedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _refuse_duplicate_keys(node, set())
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _refuse_duplicate_keys(node, seen: set[int]) -> None:
    if id(node) in seen:  # an alias: checked once
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                if key.value in keys:
                    raise ComposerError(None, None, f"key {key.value!r} appears twice in one mapping", key.start_mark)
                keys.add(key.value)
            _refuse_duplicate_keys(value, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item, seen)
