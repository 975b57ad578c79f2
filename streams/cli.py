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

from streams.errors import CliError
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
    "streams.commands.collect",
    "streams.commands.alerts",
    "streams.commands.demo",
)


class _KafkaRefusal(logging.Handler):
    """Remembers the last authentication or TLS failure kafka-python logs while it retries,
    so the one-line error can say what to fix instead of only "unable to bootstrap"."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.cause: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        from kafka.errors import AuthorizationError, KafkaConnectionError, SaslAuthenticationFailedError

        args = record.args if isinstance(record.args, tuple) else ()
        text = record.getMessage()
        if any(isinstance(a, (SaslAuthenticationFailedError, AuthorizationError)) for a in args) or (
            "authentication failed" in text.lower() or "SaslAuthenticationFailed" in text
        ):
            self.cause = "authentication failed: check NICHEWATCH_KAFKA_SASL_USERNAME/PASSWORD/MECHANISM"
        elif any(isinstance(a, KafkaConnectionError) and "SSL" in str(a) for a in args) or "CERTIFICATE_VERIFY" in text:
            self.cause = "TLS handshake failed: check NICHEWATCH_KAFKA_SSL_CAFILE"


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
    # kafka-python retries refused connections with a log line each; keep the cause, not the noise.
    kafka_log = logging.getLogger("kafka")
    kafka_log.setLevel(logging.WARNING)
    kafka_log.propagate = False
    refusal = _KafkaRefusal()
    kafka_log.addHandler(refusal)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CliError, ConfigError) as exc:
        cause = f" ({refusal.cause})" if refusal.cause else ""
        print(f"nichewatch: {exc}{cause}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
