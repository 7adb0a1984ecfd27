"""YAML loading that keeps line numbers, so errors can name the line.

PyYAML's SafeLoader is extended so that every mapping is a ``LineDict``
carrying the line of the mapping and of each key. Duplicate keys are errors,
because SafeLoader would silently keep the last value.
"""

from __future__ import annotations

import yaml  # type: ignore[import-untyped]


class SpecError(Exception):
    """An invalid pipeline file at a 1-based line; the caller adds the file name."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class LineDict(dict):
    """A YAML mapping that remembers the 1-based line of itself and of each key."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader whose mappings are LineDicts and whose duplicate keys are errors."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode):
    data = LineDict()
    data.line = node.start_mark.line + 1
    data.key_lines = {}
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            raise SpecError(line, f"invalid key {key!r}: keys must be strings")
        if key in data:
            raise SpecError(
                line,
                f"duplicate key {key!r} (first on line {data.key_lines[key]}); "
                "keep one",
            )
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = line


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def parse_yaml(text: str):
    """Load a YAML document of mappings as LineDicts, raising SpecError."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(line, f"invalid YAML: {problem}; fix the syntax") from None
    except yaml.YAMLError as exc:
        raise SpecError(1, f"invalid YAML: {exc}; fix the syntax") from None
