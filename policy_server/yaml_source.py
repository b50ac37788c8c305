"""YAML parsing that remembers where every value came from, for ``file:line`` messages.

PyYAML throws line numbers away once documents are constructed; we keep the composed node
tree next to the data so a schema error at ``rules/3/when/command`` can point at its line.
Duplicate keys, which PyYAML silently collapses, are reported instead of ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

try:  # libyaml's parser is several times faster; the pure-Python one gives the same nodes.
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


class YamlError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class SourceMap:
    """Line lookup for a key path inside one parsed document."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root

    def line(self, path: Sequence[Any]) -> int:
        """1-based line of the deepest node that ``path`` reaches (0 when unknown)."""
        node = self.root
        if node is None:
            return 0
        line = node.start_mark.line + 1
        for step in path:
            child = _child(node, step)
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line

    def duplicate_keys(self) -> list[tuple[int, str]]:
        """(line, key) of every key that appears twice in the same mapping."""
        found: list[tuple[int, str]] = []
        stack = [self.root] if self.root is not None else []
        while stack:
            node = stack.pop()
            if isinstance(node, yaml.MappingNode):
                seen: set[str] = set()
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode):
                        if key.value in seen:
                            found.append((key.start_mark.line + 1, key.value))
                        seen.add(key.value)
                    stack.append(value)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
        return sorted(found)


def _child(node: yaml.Node, step: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                return value
    elif (
        isinstance(node, yaml.SequenceNode)
        and isinstance(step, int)
        and 0 <= step < len(node.value)
    ):
        return node.value[step]
    return None


def parse(text: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document; raise :class:`YamlError` with its line on bad syntax."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlError(f"invalid YAML: {problem}", line) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", 0) from None
    finally:
        loader.dispose()
    return data, SourceMap(node)
