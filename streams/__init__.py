"""nichewatch: streaming monitor for niche social-media communities."""

__version__ = "0.1.0"
