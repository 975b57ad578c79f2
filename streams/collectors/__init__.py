"""Collectors: put real posts from public platforms onto posts.raw / accounts.snapshots.

One collector process follows the niches, discovers posts carrying their tags, publishes each
post once as new, then observes it again on a schedule so its counters grow, and snapshots
the authors' profiles on a cadence::

    niches (niches.config or --niches FILE) ──► tags
        │
        ▼
    source.discover(tags) ─────────────► first observation ──┐
    (Mastodon tag timelines / Jetstream)                     │
    tracker.due_posts(now) ──► source.observe ──► Post ──────┼──► sink (Kafka or JSONL)
    tracker.due_accounts(now) ─► source.snapshot ► Snapshot ─┘       │
                                                                     ▼
                                    state file (cursors + tracked posts), written after a flush

Modules: ``http`` (retries, backoff, rate limits), ``mastodon`` and ``bluesky`` (API shapes to
the event contract), ``schedule`` (when to look again), ``state`` (resume after restart),
``sink`` (where events go), ``niches`` (which tags), ``runner`` (the loop that ties them).
"""
