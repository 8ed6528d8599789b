"""The `dalel` command line: thin wrappers that open the archive, call the app, print.

`base.py` holds the root group, the one-line error handling and the helpers every command
shares; each other module registers one family of commands on it.
"""
from __future__ import annotations

from . import channels, configure, evidence, operations, search, transcripts, users, watch  # noqa: F401
from .base import cli, main

__all__ = ["cli", "main"]
