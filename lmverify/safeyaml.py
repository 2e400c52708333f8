"""The one YAML loader of the project's data files (worked examples, unjudged records, the catalogue,
equation files): safe, strict and bounded.

* **Safe**: PyYAML's safe constructors (nothing in a data file is executed), on libyaml's parser
  (``CSafeLoader``) where PyYAML has it, else the pure-Python one.
* **Strict**: a key that appears twice in one mapping is an error naming both lines (YAML keeps the
  last one silently).
* **Bounded**: before anything is built, one pass over the parser's events (a state machine with its own
  stack: no recursion, whatever the nesting) counts the nodes the document *expands to*, an alias counting
  as the whole subtree it names, and the nesting depth, aliases included. A document over
  :data:`MAX_NODES` nodes (an alias bomb: a few hundred bytes that expand to billions of nodes) or deeper
  than :data:`MAX_DEPTH` (thousands of nested ``[``, which the recursive composer would meet as a
  RecursionError) is refused with :class:`YAMLLimitError`, naming the file and the line, in the time the
  parser takes to read the text.

:class:`YAMLLimitError` is a ``yaml.YAMLError``, so a caller's ``except yaml.YAMLError`` names the file as it
does for any malformed YAML.
"""

from __future__ import annotations

from pathlib import Path

import yaml

#: the most nodes a document may expand to. The project's largest data file (a worked example of the
#: seq2seq topic) expands to about 1 200 nodes; 200 000 leaves room for data files a hundred times
#: larger, and is built and walked in well under a second.
MAX_NODES = 200_000

#: the deepest nesting a document may have (aliases expanded). The project's files nest at most 6 deep
#: (a claim's matrix inside a list inside a mapping); the composer and constructor recurse once per level.
MAX_DEPTH = 100

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser where PyYAML has it


class YAMLLimitError(yaml.YAMLError):
    """A YAML document over the node or depth limit (an alias bomb, a pathologically nested file)."""


class StrictLoader(_Base):
    """``yaml.safe_load`` that refuses duplicate keys (YAML keeps the last one silently)."""


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: construct_mapping names it
            break
        if first is not None:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                f"key {key!r} appears twice (first at line {first + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def check_limits(text: str, where: str | Path = "<yaml>", *, max_nodes: int = MAX_NODES,
                 max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`YAMLLimitError` (naming ``where``) if a document of ``text`` expands to more than
    ``max_nodes`` nodes or nests deeper than ``max_depth``; a syntax error is left to the loader."""
    # each open collection: [anchor, expanded nodes so far (itself included), depth of its deepest child]
    stack: list[list] = []
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (expanded nodes, depth) of the node it names
    total = 0

    def refuse(what: str, event) -> None:
        line = event.start_mark.line + 1 if event.start_mark is not None else "?"
        raise YAMLLimitError(f"{where}: refused at line {line}: {what}; a data file of this project is far "
                             f"smaller (limits: {max_nodes} nodes, depth {max_depth}, aliases expanded)")

    def add(nodes: int, depth: int, event) -> None:
        nonlocal total
        if stack:
            stack[-1][1] += nodes
            stack[-1][2] = max(stack[-1][2], depth)
            if stack[-1][1] > max_nodes:
                refuse(f"the document expands to more than {max_nodes} nodes (aliases repeat whole subtrees: "
                       "an alias bomb?)", event)
            if len(stack) + depth > max_depth:
                refuse(f"the document nests deeper than {max_depth} levels (aliases expanded)", event)
        else:
            total += nodes
            if total > max_nodes:
                refuse(f"the stream expands to more than {max_nodes} nodes", event)

    try:
        for event in yaml.parse(text, Loader=_Base):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                stack.append([event.anchor, 1, 0])
                if len(stack) > max_depth:
                    refuse(f"the document nests deeper than {max_depth} levels", event)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                anchor, nodes, deepest = stack.pop()
                if anchor is not None:
                    anchors[anchor] = (nodes, deepest + 1)
                add(nodes, deepest + 1, event)
            elif isinstance(event, yaml.ScalarEvent):
                if event.anchor is not None:
                    anchors[event.anchor] = (1, 1)
                add(1, 1, event)
            elif isinstance(event, yaml.AliasEvent):
                nodes, depth = anchors.get(event.anchor, (1, 1))  # an undefined alias: the loader names it
                add(nodes, depth, event)
    except YAMLLimitError:
        raise
    except yaml.YAMLError:
        return  # malformed YAML: the loader raises it with its own message


def load(text: str, where: str | Path = "<yaml>", *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH):
    """The one document of ``text`` (``where``: the file, for messages), loaded safely and strictly within
    the limits; ``yaml.YAMLError`` (or :class:`YAMLLimitError`) otherwise."""
    check_limits(text, where, max_nodes=max_nodes, max_depth=max_depth)
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader


def load_file(path: str | Path, **limits):
    """:func:`load` of a UTF-8 file (``OSError``/``UnicodeDecodeError`` as ``open`` raises them)."""
    path = Path(path)
    return load(path.read_text(encoding="utf-8"), path, **limits)
