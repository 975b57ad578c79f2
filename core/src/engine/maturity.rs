//! How posts already published engage newcomers (streams/core/maturity.py). Not ported yet.
