"""The ``nichewatch`` command line.

Each sub-command lives in its own module under ``streams.commands`` and exposes
``register(subparsers)``; the parser it adds sets ``func(args) -> int``. Errors that a
user can fix (:class:`CliError`, :class:`ConfigError`) print one line, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from streams.settings import ConfigError

COMMAND_MODULES: tuple[str, ...] = (
    "streams.commands.kafka",
    "streams.commands.worker",
    "streams.commands.topics",
    "streams.commands.niches",
    "streams.commands.simulate",
    "streams.commands.evaluate",
    "streams.commands.replay",
    "streams.commands.feed",
    "streams.commands.alerts",
    "streams.commands.demo",
)


class CliError(Exception):
    """A failure the user can fix; the message says how."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nichewatch",
        description="Streaming monitor for niche communities: micro-influencers and bought-follower spikes.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)  # kafka-python is chatty at INFO
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CliError, ConfigError) as exc:
        print(f"nichewatch: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
