"""A strict YAML reader for scenario files: safe tags only, no duplicate keys, bounded depth
and size, and impossible values (30 February, an integer of 5,000 digits) as YAML errors
that carry their line.

``load(text)`` returns plain Python data or raises :class:`yaml.YAMLError` with a
``problem_mark``; :func:`compose` gives the node tree (to find a key's line).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

MAX_DEPTH = 40
"""Deepest nesting of mappings and sequences accepted (scenarios need about 6)."""

MAX_NODES = 200_000
"""Most values a document may hold once its aliases are expanded (a 'billion laughs' file
is refused before anything is built from it)."""


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys, deep nesting and alias bombs."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if id(node) not in self._sizes:
            self._sizes[id(node)] = size = 1 + sum(map(self._size, _children(node)))
            if size > MAX_NODES and node is not None:
                raise ComposerError(
                    None,
                    None,
                    f"holds more than {MAX_NODES:,} values once its aliases are expanded",
                    node.start_mark,
                )
        return node

    def _size(self, node: Any) -> int:
        return self._sizes.get(id(node), 1)  # 1: an alias of a node still being built

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:
            reason = str(exc).split(";")[0] or type(exc).__name__
            shown = str(node.value)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise ConstructorError(
                None, None, f"'{shown}' cannot be read: {reason}", node.start_mark
            ) from None

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    earlier = seen.get(key)
                except TypeError:
                    continue  # an unhashable key; the constructor reports it
                if earlier is not None:
                    raise ConstructorError(
                        None,
                        None,
                        f"duplicate key '{key}' (first on line {earlier.line + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _read_single(text: str, read: Callable[[StrictLoader], Any]) -> Any:
    loader = StrictLoader(text)
    try:
        return read(loader)
    finally:
        loader.dispose()


def load(text: str) -> Any:
    """The data of one YAML document, read strictly (see the module docstring)."""
    return _read_single(text, StrictLoader.get_single_data)


def compose(text: str) -> Any:
    """The node tree of one YAML document (None for an empty one)."""
    return _read_single(text, StrictLoader.get_single_node)
