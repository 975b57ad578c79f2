"""The console: read-only HTML pages on every worker's HTTP port.

    leaderboard.py  bounded top-K boards per (niche, tier, platform) from the influencers topic
    data.py         what the pages read, fed by the topic followers
    freshness.py    lag and silence of the input, for the "stale" banner
    charts.py       follower curves and growth bars as inline SVG
    escape.py       escaping and the Content-Security-Policy
    pages.py        the HTML of the index and of an account's page
    account.py      an account's page from its state, alerts and profile
    routes.py       the routes on the worker's web server
"""
