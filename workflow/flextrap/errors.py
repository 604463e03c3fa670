"""User-facing errors: reported as one line, never as a stack trace (see cli.cli_entry)."""


class FlextrapError(Exception):
    """A mistake in config, input data or environment that the user can fix."""
