"""The exception tree drawn in ``deltaglider/errors.py``'s docstring is the one the classes make: a
reader (or a caller choosing what to catch) takes the drawing at its word."""

from __future__ import annotations

import re

from deltaglider import errors

#: One class a line of the drawing: the tree's guides, the name, then ``+ Builtin, ...``.
_LINE = re.compile(r"^(?P<guides>[ │├└─]*)(?P<name>\w+)(?:\s+\+\s+(?P<mixins>\w+(?:,\s*\w+)*))?\s*$")
#: Each level of the drawing is indented this much further than its parent.
_STEP = 4


def _drawn(doc: str) -> dict[str, tuple[str | None, tuple[str, ...]]]:
    """Each class the docstring draws: its parent in the drawing and the builtins named after it."""
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == errors.DeltaGliderError.__name__)
    drawn: dict[str, tuple[str | None, tuple[str, ...]]] = {}
    path: list[str] = []  # the names along the current branch, by depth
    margin = len(lines[start]) - len(lines[start].lstrip())
    for line in lines[start:]:
        if not line.strip():
            break
        match = _LINE.match(line[margin:])
        assert match is not None, f"not a line of the tree: {line!r}"
        depth, remainder = divmod(len(match["guides"]), _STEP)
        assert remainder == 0 and depth <= len(path), f"misplaced in the tree: {line!r}"
        del path[depth:]
        mixins = tuple(m.strip() for m in match["mixins"].split(",")) if match["mixins"] else ()
        drawn[match["name"]] = (path[-1] if path else None, mixins)
        path.append(match["name"])
    return drawn


def _actual() -> dict[str, tuple[str | None, tuple[str, ...]]]:
    """Each exception class errors.py defines: its parent in the family and the builtins it adds."""
    classes = [
        value
        for value in vars(errors).values()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and value.__module__ == errors.__name__
    ]
    ours = set(classes)
    actual: dict[str, tuple[str | None, tuple[str, ...]]] = {}
    for cls in classes:
        parents = [base.__name__ for base in cls.__bases__ if base in ours]
        assert len(parents) <= 1, f"{cls.__name__} has two parents in the family: the drawing is a tree"
        mixins = tuple(base.__name__ for base in cls.__bases__ if base not in ours and base is not Exception)
        actual[cls.__name__] = (parents[0] if parents else None, mixins)
    return actual


def test_the_drawn_tree_is_the_classes_tree() -> None:
    assert errors.__doc__ is not None
    assert _drawn(errors.__doc__) == _actual()


def test_a_drawing_that_misplaces_a_class_is_caught() -> None:
    assert errors.__doc__ is not None
    moved = errors.__doc__.replace("│   ├── DecodeError ", "├── DecodeError     ")
    assert moved != errors.__doc__
    assert _drawn(moved)["DecodeError"] == (errors.DeltaGliderError.__name__, ("ValueError",))
    assert _drawn(moved) != _actual()
