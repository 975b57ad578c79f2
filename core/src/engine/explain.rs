//! Growth explained by engagement (streams/core/explain.py). Not ported yet.
