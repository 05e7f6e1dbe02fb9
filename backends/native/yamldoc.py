"""Read a YAML document into plain values, remembering the line of every node.

The engine reads untrusted snap.yaml files, so this loader builds values from the
parser's event stream itself instead of PyYAML's recursive composer: nesting depth
and size are bounded, aliases, explicit tags and duplicate keys are refused, and
every error carries the file, the line and the dotted field it concerns.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import SourceError

try:  # libyaml's parser is much faster; fall back to the pure one where it is absent
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader

MAX_BYTES = 1 << 20
MAX_DEPTH = 32
MAX_NODES = 100_000

_resolver = yaml.resolver.Resolver()
_constructor = yaml.constructor.SafeConstructor()
_KEEP_AS_TEXT = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"}


def field_name(path: tuple) -> str:
    parts = [str(p) for p in path]
    if len(parts) > 8:  # a deeply nested path says little past its first steps
        parts = parts[:4] + ["..."] + parts[-2:]
    return ".".join(parts)


@dataclass
class Document:
    """A parsed document: `value` plus the line (1-based) of every path in it."""

    file: str
    value: Any
    lines: dict[tuple, int] = field(default_factory=dict)
    # the text of every plain scalar as written (snapd keeps `version: 1.10` as "1.10")
    texts: dict[tuple, str] = field(default_factory=dict)

    def line_of(self, path: tuple) -> int | None:
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def error(self, path: tuple, message: str, cls: type[SourceError] = SourceError) -> SourceError:
        return cls(self.file, self.line_of(path), field_name(path), message)


def _scalar(event: yaml.ScalarEvent) -> Any:
    tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == "tag:yaml.org,2002:str" or tag in _KEEP_AS_TEXT:
        return event.value
    node = yaml.ScalarNode(tag, event.value)
    return _constructor.construct_object(node)


def _decode(data: bytes, file: str, cls: type[SourceError]) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise cls(file, line, "", f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def load_bytes(data: bytes, file: str, cls: type[SourceError] = SourceError, loader=_Loader) -> Document:
    """Parse one YAML document; raise `cls` (a SourceError) on anything unacceptable."""
    if len(data) > MAX_BYTES:
        raise cls(file, None, "", f"file is {len(data)} bytes, more than the {MAX_BYTES} allowed")
    if b"\0" in data:
        line = data.count(b"\n", 0, data.index(b"\0")) + 1
        raise cls(file, line, "", "file holds a NUL byte")
    text = _decode(data, file, cls)
    doc = Document(file, None)
    # Stack entries: [container, path, pending_key or _NO_KEY]
    stack: list[list] = []
    root_set = False
    nodes = 0
    no_key = object()

    def here() -> str:
        """The field the next event belongs to (the pending key or list item)."""
        if not stack:
            return ""
        container, path, key = stack[-1]
        if isinstance(container, list):
            return field_name(path + (len(container),))
        return field_name(path + (key,)) if key is not no_key else field_name(path)

    def place(value: Any, line: int, is_container: bool, text: str | None = None) -> tuple | None:
        nonlocal root_set
        if not stack:
            if root_set:
                raise cls(file, line, "", "more than one YAML document")
            doc.value = value
            root_set = True
            doc.lines[()] = line
            return ()
        top = stack[-1]
        container, path = top[0], top[1]
        if isinstance(container, list):
            child = path + (len(container),)
            container.append(value)
            doc.lines[child] = line
            if text is not None:
                doc.texts[child] = text
            return child
        if top[2] is no_key:
            if is_container:
                raise cls(file, line, field_name(path), "a mapping key must be a plain value")
            if value is None or not isinstance(value, (str, int, bool)):
                raise cls(file, line, field_name(path), f"a mapping key must be text, not {value!r}")
            key = text if text is not None else str(value)  # `on:` is the key "on", not True
            if key in container:
                raise cls(file, line, field_name(path + (key,)), f"duplicate key {key!r}")
            top[2] = key
            doc.lines[path + (key,)] = line
            return None
        key = top[2]
        top[2] = no_key
        container[key] = value
        if text is not None:
            doc.texts[path + (key,)] = text
        return path + (key,)

    try:
        for event in yaml.parse(text, Loader=loader):
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentStartEvent, yaml.DocumentEndEvent)):
                continue
            nodes += 1
            if nodes > MAX_NODES:
                raise cls(file, line, "", f"more than {MAX_NODES} YAML nodes")
            if isinstance(event, yaml.AliasEvent):
                raise cls(file, line, here(), "YAML aliases are not allowed")
            if getattr(event, "anchor", None):
                raise cls(file, line, here(), "YAML anchors are not allowed")
            tag = getattr(event, "tag", None)
            if isinstance(event, yaml.ScalarEvent):
                if tag and tag != "!" and not event.implicit[0] and not event.implicit[1]:
                    raise cls(file, line, here(), f"explicit YAML tag {tag} is not allowed")
                try:
                    value = _scalar(event)
                except (yaml.YAMLError, ValueError) as exc:
                    raise cls(file, line, here(), f"bad value {event.value!r}: {exc}") from None
                place(value, line, False, event.value if event.implicit[0] else None)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if tag and not event.implicit:
                    raise cls(file, line, here(), f"explicit YAML tag {tag} is not allowed")
                if len(stack) >= MAX_DEPTH:
                    raise cls(file, line, field_name(stack[-1][1]), f"nested deeper than {MAX_DEPTH} levels")
                container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
                path = place(container, line, True)
                stack.append([container, path, no_key])
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                stack.pop()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "malformed YAML"
        where = field_name(stack[-1][1]) if stack and stack[-1][1] is not None else ""
        if "nesting depth" in problem and loader is not yaml.SafeLoader:
            # libyaml's own depth limit trips while it scans ahead, before the event that
            # would name the field: the pure parser meets our lower limit at that field.
            return load_bytes(data, file, cls, yaml.SafeLoader)
        raise cls(file, line, where, f"YAML syntax error: {problem}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise cls(file, line, here(), f"control character U+{char:04X} is not allowed in YAML") from None
    except yaml.YAMLError as exc:
        raise cls(file, None, "", f"YAML error: {exc}") from None
    except RecursionError:
        raise cls(file, None, "", "YAML nested too deeply") from None
    return doc


def load_file(path, cls: type[SourceError] = SourceError, display: str | None = None) -> Document:
    name = display or str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise cls(name, None, "", "file not found") from None
    except IsADirectoryError:
        raise cls(name, None, "", "is a directory, not a file") from None
    except OSError as exc:
        raise cls(name, None, "", f"cannot read: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise cls(name, None, "", f"file is larger than the {MAX_BYTES} bytes allowed")
    return load_bytes(data, name, cls)
