"""The package's error for wrong settings, options or inputs (the CLI prints it and exits 2).

It lives below every other module so that paths, atomic writes and configuration can all raise
it; :mod:`embcollapse.config` re-exports it.
"""
from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value, option or input is wrong; the message names where."""
