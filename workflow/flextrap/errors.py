"""User-facing errors: reported as one line, never as a stack trace."""
from __future__ import annotations

import functools
import sys


class FlextrapError(Exception):
    """A mistake in config, input data or environment that the user can fix."""


def cli_entry(main):
    """Wrap a command-line `main`: a FlextrapError prints `error: ...` and exits 1."""
    @functools.wraps(main)
    def wrapped(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except FlextrapError as err:
            print(f"error: {err}", file=sys.stderr)
            raise SystemExit(1) from None
    return wrapped
