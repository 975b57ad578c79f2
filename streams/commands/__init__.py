"""CLI commands. Each module defines ``register(subparsers)`` and is listed in streams.cli."""
