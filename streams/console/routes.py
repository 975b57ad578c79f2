"""The console's routes on the worker's HTTP server (read-only, GET only).

    GET /                          niches, leaderboards by tier, latest alerts
                                   ?niche=&tier=&platform=&limit=N filter the leaderboards
    GET /console/account?id=ID     an account's curves, alerts with evidence, score
                                   (answered by the worker that owns the account)

Every response carries the console's Content-Security-Policy (streams.console.escape),
including account pages relayed from the owning worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import faust
from faust.web import Request, Response, View

from streams.changelog import decode_state
from streams.console.account import account_page
from streams.console.data import ConsoleData
from streams.console.escape import esc, security_headers
from streams.console.leaderboard import TIERS, tiers_in_order
from streams.console.pages import (
    ACCOUNT_PATH,
    CSS,
    Filters,
    IndexPage,
    NicheBoard,
    render_account,
    render_index,
    shell,
)
from streams.core.state import AccountState
from streams.dlq import BadRecord
from streams.niche_tags import tag_health_rows

if TYPE_CHECKING:
    from streams.app import Worker

HEADERS = security_headers(CSS)
SAMPLE_EVERY_S = 5.0
DEFAULT_ROWS, MAX_ROWS = 10, 100
ALERTS_SHOWN = 30


def parse_filters(query: dict[str, str]) -> tuple[Filters, int]:
    tier = query.get("tier") or None
    if tier is not None and tier not in TIERS:
        raise ValueError(f"tier must be one of {', '.join(TIERS)}")
    raw = query.get("limit") or str(DEFAULT_ROWS)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ROWS:
        raise ValueError(f"limit must be an integer from 1 to {MAX_ROWS}")
    return Filters(query.get("niche") or None, tier, query.get("platform") or None), int(raw)


def index_page(
    data: ConsoleData, niche_tags: dict[str, list[str]], filters: Filters, rows: int,
    tag_health: dict[str, list[dict[str, object]]] | None = None,
) -> IndexPage:
    board = data.board
    names = sorted(set(niche_tags) | set(board.niches()))
    tiers = [filters.tier] if filters.tier else list(TIERS)
    boards = [
        NicheBoard(name, niche_tags.get(name, []),
                   [(tier, board.board(name, tier, filters.platform, rows)) for tier in tiers])
        for name in names if filters.niche in (None, name)
    ]
    return IndexPage(
        boards=boards,
        alerts=data.alerts.latest(ALERTS_SHOWN),
        counts=dict(data.classification_counts),
        freshness=data.freshness(),
        filters=filters,
        niche_options=names,
        tier_options=tiers_in_order(TIERS),
        platform_options=board.platforms(),
        tag_health=tag_health,
    )


def _problem(view: View, status: int, message: str) -> Response:
    body = shell("nichewatch console", f'<p><a href="/">&larr; console</a></p><p>{esc(message)}</p>', 3600)
    return view.html(body, status=status, headers=dict(HEADERS))


def register_console(worker: Worker, table: faust.Table, data: ConsoleData) -> None:
    app, engine = worker.app, worker.engine

    @app.page("/")
    async def index(view: View, request: Request) -> Response:
        try:
            filters, rows = parse_filters(dict(request.query))
        except ValueError as exc:
            return _problem(view, 400, str(exc))
        tags = {name: sorted(engine.matcher.tags_of(name)) for name in engine.niche_names}
        health = tag_health_rows(worker.tag_reports.latest, filters.niche)
        return view.html(render_index(index_page(data, tags, filters, rows, health)), headers=dict(HEADERS))

    async def on_owner(view: View, request: Request) -> Response:
        account_id = request.query.get("id", "")
        state = worker.accounts.lookup(account_id.encode())
        if state is None:
            return _problem(view, 404, f"account {account_id} is not tracked")
        if not isinstance(state, AccountState):
            try:
                state = decode_state(state, account_id, engine.config)
            except BadRecord:
                return _problem(view, 404, f"account {account_id} has no readable state")
        alerts = data.alerts.latest(20, account_id)
        page = account_page(state, alerts, data.board.profile(account_id), data.freshness())
        return view.html(render_account(page), headers=dict(HEADERS))

    routed = app.table_route(table=table, query_param="id")(on_owner)

    @app.page(ACCOUNT_PATH)
    async def account(view: View, request: Request) -> Response:
        if not request.query.get("id"):
            return _problem(view, 400, "which account? /console/account?id=ACCOUNT_ID")
        response = await routed(view, request)
        for name, value in HEADERS.items():  # a relayed response keeps only its body
            response.headers[name] = value
        return response

    @app.timer(SAMPLE_EVERY_S)
    async def sample_freshness() -> None:
        data.watch.sample()
