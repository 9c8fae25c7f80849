"""Reading the command line before click does, for the two things click cannot do on its own.

- Global options are declared once, on the group, yet accepted after the command too, as ``aws s3 cp a
  s3://b/ --endpoint-url X`` accepts them: they are moved in front of the command name.
- Short flags may be bundled (``ls -rh``, ``cp -rq``) even where some are the group's (``-q``):
  a bundle of known flags is split before the group's are moved.
- ``--include``/``--exclude`` are ordered rules (the last match wins), but click gathers each option's
  values apart: their order across the two options is read here.

Both need to know which options take a value, so that a value is never mistaken for an option
(``--exclude --json`` excludes files named ``--json``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import click

from deltaglider.batch import FilterRule


def _takes_value(param: click.Parameter) -> bool:
    return isinstance(param, click.Option) and not param.is_flag and not param.count


def _option_table(params: Iterable[click.Parameter]) -> dict[str, click.Parameter]:
    table: dict[str, click.Parameter] = {}
    for param in params:
        if isinstance(param, click.Option):
            for opt in (*param.opts, *param.secondary_opts):
                table[opt] = param
    return table


@dataclass(frozen=True)
class _Token:
    start: int  # index of the option in args
    stop: int  # one past its value (start + 1 when the value is inline or there is none)
    param: click.Parameter | None  # None for a positional argument or an unknown option
    value: str | None


def _scan(args: Sequence[str], table: dict[str, click.Parameter]) -> Iterator[_Token]:
    """The args as options (with their values) and positionals, up to a ``--``."""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return
        name, eq, inline = arg.partition("=")
        param = table.get(name) if arg.startswith("--") else table.get(arg)
        if param is None or not _takes_value(param):
            yield _Token(index, index + 1, param, None)
            index += 1
        elif eq:
            yield _Token(index, index + 1, param, inline)
            index += 1
        else:
            value = args[index + 1] if index + 1 < len(args) else None
            yield _Token(index, min(index + 2, len(args)), param, value)
            index += 2


def hoist_global_options(group: click.Group, ctx: click.Context, args: Sequence[str]) -> list[str]:
    """``args`` with the group's own options that follow the command name moved before it."""
    globals_table = _option_table(group.params)
    command_at = next((t.start for t in _scan(args, globals_table) if t.param is None), None)
    if command_at is None or args[command_at].startswith("-"):
        return list(args)
    command = group.get_command(ctx, args[command_at])
    if command is None:
        return list(args)
    head, rest = list(args[: command_at + 1]), list(args[command_at + 1 :])
    command_table = _option_table(command.params)
    # The command's own options win a name clash; the group's fill in the rest.
    table = {**{k: v for k, v in globals_table.items() if k not in command_table}, **command_table}
    rest = _split_bundles(rest, table)
    hoisted: list[str] = []
    kept: list[str] = []
    position = 0
    for token in _scan(rest, table):
        kept.extend(rest[position : token.start])
        piece = rest[token.start : token.stop]
        if token.param is not None and token.param in group.params:
            hoisted.extend(piece)
        else:
            kept.extend(piece)
        position = token.stop
    kept.extend(rest[position:])
    return [*head[:command_at], *hoisted, head[command_at], *kept]


def _split_bundles(args: list[str], table: dict[str, click.Parameter]) -> list[str]:
    """``args`` with each ``-abc`` made of known flags (options taking no value) split into ``-a -b
    -c``; anything else, an option's value included, as it was."""
    split: list[str] = []
    position = 0
    for token in _scan(args, table):
        split.extend(args[position : token.start])
        piece = args[token.start : token.stop]
        arg = piece[0]
        flags = [f"-{letter}" for letter in arg[1:]]
        bundle = (
            token.param is None
            and len(arg) > 2
            and arg[0] == "-"
            and arg[1] != "-"
            and all(flag in table and not _takes_value(table[flag]) for flag in flags)
        )
        split.extend(flags if bundle else piece)
        position = token.stop
    split.extend(args[position:])
    return split


def ordered_filters(command: click.Command, args: Sequence[str]) -> list[FilterRule]:
    """The command's ``--include``/``--exclude`` values in the order given."""
    table = _option_table(command.params)
    rules = []
    for token in _scan(args, table):
        param = token.param
        if (
            isinstance(param, click.Option)
            and param.name in ("include", "exclude")
            and token.value is not None
        ):
            rules.append(FilterRule("include" if param.name == "include" else "exclude", token.value))
    return rules


FILTERS_META_KEY = "deltaglider.filters"


class FilteredCommand(click.Command):
    """A command with ``--include``/``--exclude``: keeps their relative order in ``ctx.meta``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[FILTERS_META_KEY] = ordered_filters(self, args)
        return super().parse_args(ctx, args)


def filters(ctx: click.Context) -> list[FilterRule]:
    rules: list[FilterRule] = ctx.meta.get(FILTERS_META_KEY, [])
    return rules
