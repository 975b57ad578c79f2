"""Faust agents: short functions that decode, call the core, send and count."""
