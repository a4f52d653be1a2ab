"""Numeric command-line options that refuse nan, inf and out-of-range values in one line.

click's own FloatRange lets ``nan`` through (every comparison with nan is false) and
``inf`` too when there is no upper bound; ``--hours nan`` then failed deep inside with a
Python error. Use ``typer.Option(parser=Number(min, max))``.
"""

from __future__ import annotations

import math
from typing import Any

import click

from sync.i18n import t


class Number:
    """A parser for a finite float within [min, max] (min excluded when ``min_open``)."""

    def __init__(self, min: float, max: float, *, min_open: bool = False) -> None:
        self.min, self.max, self.min_open = min, max, min_open
        self.__name__ = "number"  # typer names the parameter type after the parser

    def __call__(self, value: Any) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                raise click.BadParameter(t("cli.number.not_number", value=value)) from None
        if not math.isfinite(number):
            raise click.BadParameter(t("cli.number.not_finite", value=value))
        low_ok = number > self.min if self.min_open else number >= self.min
        if not low_ok or number > self.max:
            key = "cli.number.range_open" if self.min_open else "cli.number.range"
            raise click.BadParameter(t(key, value=value, min=_show(self.min), max=_show(self.max)))
        return number


def _show(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
