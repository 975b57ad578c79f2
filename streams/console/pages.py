"""HTML of the console's pages, from plain data: the index and an account's page.

Pages carry no script. They refresh themselves with a meta refresh and say at the top
when what they show may be stale. Every value from data goes through ``esc`` or
``url_query`` (streams.console.escape).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from streams.console.charts import growth_bars
from streams.console.escape import esc, url_query
from streams.console.freshness import Freshness

INDEX_REFRESH_S = 15
ACCOUNT_REFRESH_S = 30
ACCOUNT_PATH = "/console/account"
COMPONENTS = ("engagement", "niche_focus", "consistency", "authenticity")
GROWTH_EVIDENCE = ("observed_growth", "explained_growth", "unexplained_growth", "followers_per_interaction")

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0 24px 40px;color:#222}
h1{font-size:20px;margin:16px 0 4px}h2{font-size:17px;margin:24px 0 6px}h3{font-size:14px;margin:12px 0 4px}
table{border-collapse:collapse;margin:4px 0 8px}th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.status{padding:6px 10px;margin:8px 0;border-radius:4px;background:#eef6ee}
.status.stale{background:#fde8e8;border:1px solid #e99}
.muted{color:#777}.tags{color:#555}
.purchase{color:#b01e1e;font-weight:600}.breakout{color:#207a20;font-weight:600}
.growth-summary{font-size:16px;padding:8px 12px;background:#fff7e6;border:1px solid #f0c36d;border-radius:4px}
.big{font-size:22px;font-weight:700}
form.filters select{margin-right:8px}
""".strip()

CLASS_CSS = {"suspected_purchase": "purchase", "organic_breakout": "breakout"}


@dataclass(frozen=True, slots=True)
class NicheBoard:
    name: str
    tags: Sequence[str]
    tiers: Sequence[tuple[str, Sequence[Mapping[str, Any]]]]  # (tier, profiles best first)


@dataclass(frozen=True, slots=True)
class Filters:
    niche: str | None = None
    tier: str | None = None
    platform: str | None = None


@dataclass(frozen=True, slots=True)
class IndexPage:
    boards: Sequence[NicheBoard]
    alerts: Sequence[Mapping[str, Any]]
    counts: Mapping[str, int]
    freshness: Freshness
    filters: Filters = Filters()
    niche_options: Sequence[str] = ()
    tier_options: Sequence[str] = ()
    platform_options: Sequence[str] = ()
    # niche -> rows of tag statistics, when a niche-statistics source is wired in
    tag_health: Mapping[str, Sequence[Mapping[str, object]]] | None = None


@dataclass(frozen=True, slots=True)
class AccountPage:
    account_id: str
    platform: str
    handle: str
    followers: int
    latest_at: float
    charts: Sequence[tuple[str, str]]  # (heading, svg)
    alerts: Sequence[Mapping[str, Any]]
    profile: Mapping[str, Any] | None
    last_score: tuple[float, str, str] | None  # (score, tier, primary niche) from the account state
    niche_posts: Mapping[str, int] = field(default_factory=dict)
    freshness: Freshness | None = None


# --- shared pieces -----------------------------------------------------------------------
def shell(title: str, body: str, refresh_s: int) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{int(refresh_s)}">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>{body}</body></html>"
    )


def when(value: object) -> str:
    """An ISO timestamp or epoch seconds as ``YYYY-MM-DD HH:MM UTC``."""
    try:
        if isinstance(value, int | float):
            moment = datetime.fromtimestamp(float(value), UTC)
        else:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OSError, OverflowError):
        return esc(value)
    return esc(moment.strftime("%Y-%m-%d %H:%M UTC"))


def number(value: object, spec: str = ",.0f") -> str:
    try:
        return esc(format(float(value), spec))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return esc(value)


def account_link(account_id: object, text: object) -> str:
    return f'<a href="{url_query(ACCOUNT_PATH, {"id": str(account_id)})}">{esc(text)}</a>'


def status_banner(freshness: Freshness, refresh_s: int) -> str:
    now = datetime.now(UTC).strftime("%H:%M:%S UTC")
    if freshness.stale:
        reasons = "; ".join(esc(r) for r in freshness.reasons)
        return f'<div class="status stale"><strong>Data may be stale:</strong> {reasons}. Page built {now}, refreshes every {refresh_s} s.</div>'
    return f'<div class="status">Live: input flowing, lag {freshness.lag:,} messages. Page built {now}, refreshes every {refresh_s} s.</div>'


def classification(value: object) -> str:
    css = CLASS_CSS.get(str(value), "")
    return f'<span class="{css}">{esc(value)}</span>' if css else esc(value)


def alert_reason(alert: Mapping[str, Any]) -> str:
    """One line: the growth and the strongest evidence."""
    growth = alert.get("growth")
    relative = alert.get("growth_relative")
    evidence = alert.get("evidence") or []
    detail = str(evidence[0].get("detail", "")) if evidence and isinstance(evidence[0], Mapping) else ""
    head = ""
    if isinstance(growth, int | float):
        head = f"{growth:+,.0f} followers"
        if isinstance(relative, int | float):
            head += f" ({relative:+.1%})"
    return esc(" · ".join(part for part in (head, detail) if part))


# --- the index -----------------------------------------------------------------------------
def render_index(page: IndexPage) -> str:
    body = [
        "<h1>nichewatch: niches, leaderboards and flagged accounts</h1>",
        status_banner(page.freshness, INDEX_REFRESH_S),
        _filter_form(page),
        '<section id="leaderboards"><h2>Leaderboards</h2>',
    ]
    if not page.boards:
        body.append('<p class="muted">No influencer profiles yet.</p>')
    for board in page.boards:
        body.append(_niche_board(board))
    body.append("</section>")
    body.append(_alerts_section(page.alerts, page.counts))
    if page.tag_health is not None:
        body.append(_tag_health(page.tag_health))
    return shell("nichewatch console", "".join(body), INDEX_REFRESH_S)


def _select(name: str, options: Sequence[str], chosen: str | None) -> str:
    items = [f'<option value="">all {esc(name)}s</option>']
    for option in options:
        selected = " selected" if option == chosen else ""
        items.append(f'<option value="{esc(option)}"{selected}>{esc(option)}</option>')
    return f'<label>{esc(name)} <select name="{esc(name)}">{"".join(items)}</select></label>'


def _filter_form(page: IndexPage) -> str:
    f = page.filters
    return (
        '<form class="filters" method="get" action="/">'
        + _select("niche", page.niche_options, f.niche)
        + _select("tier", page.tier_options, f.tier)
        + _select("platform", page.platform_options, f.platform)
        + '<button type="submit">filter</button></form>'
    )


def _niche_board(board: NicheBoard) -> str:
    tags = " ".join(f"#{esc(tag)}" for tag in board.tags)
    out = [f'<article class="niche"><h2>niche {esc(board.name)}</h2>']
    if tags:
        out.append(f'<div class="tags">tags: {tags}</div>')
    shown = False
    for tier, profiles in board.tiers:
        if not profiles:
            continue
        shown = True
        out.append(f'<h3>{esc(tier)}</h3><table class="leaderboard"><thead><tr><th class="n">#</th>'
                   '<th>handle</th><th>platform</th><th class="n">followers</th><th class="n">score</th>'
                   + "".join(f'<th class="n">{esc(c.replace("_", " "))}</th>' for c in COMPONENTS)
                   + '<th class="n">median engagement</th></tr></thead><tbody>')
        for rank, profile in enumerate(profiles, 1):
            components = profile.get("components") or {}
            out.append(
                f'<tr><td class="n">{rank}</td><td class="handle">{account_link(profile.get("account_id", ""), profile.get("handle", ""))}</td>'
                f'<td>{esc(profile.get("platform", ""))}</td><td class="n">{number(profile.get("followers"))}</td>'
                f'<td class="n">{number(profile.get("score"), ".2f")}</td>'
                + "".join(f'<td class="n">{number(components.get(c), ".2f")}</td>' for c in COMPONENTS)
                + f'<td class="n">{number(profile.get("median_engagement_rate"), ".2%")}</td></tr>'
            )
        out.append("</tbody></table>")
    if not shown:
        out.append('<p class="muted">No profiles match the filters.</p>')
    out.append("</article>")
    return "".join(out)


def _alerts_section(alerts: Sequence[Mapping[str, Any]], counts: Mapping[str, int]) -> str:
    tally = ", ".join(f"{classification(name)}: {count:,}" for name, count in sorted(counts.items())) or "none yet"
    out = ['<section id="alerts"><h2>Latest alerts</h2>', f'<p class="counts">Alerts read from the topic: {tally}</p>']
    if not alerts:
        out.append('<p class="muted">No alerts yet.</p></section>')
        return "".join(out)
    out.append("<table><thead><tr><th>detected</th><th>account</th><th>platform</th><th>niches</th>"
               "<th>classification</th><th>reason</th></tr></thead><tbody>")
    for alert in alerts:
        niches = ", ".join(str(n) for n in alert.get("niches") or [])
        out.append(
            f'<tr><td>{when(alert.get("detected_at", ""))}</td>'
            f'<td class="handle">{account_link(alert.get("account_id", ""), alert.get("handle") or alert.get("account_id", ""))}</td>'
            f'<td>{esc(alert.get("platform", ""))}</td><td>{esc(niches)}</td>'
            f'<td>{classification(alert.get("classification", ""))}</td><td>{alert_reason(alert)}</td></tr>'
        )
    out.append("</tbody></table></section>")
    return "".join(out)


def _tag_health(tag_health: Mapping[str, Sequence[Mapping[str, object]]]) -> str:
    out = ['<section id="tag-health"><h2>Tag health</h2>']
    for niche, rows in sorted(tag_health.items()):
        columns = list(dict.fromkeys(key for row in rows for key in row))
        out.append(f"<h3>niche {esc(niche)}</h3><table><thead><tr>"
                   + "".join(f"<th>{esc(c)}</th>" for c in columns) + "</tr></thead><tbody>")
        for row in rows:
            out.append("<tr>" + "".join(f"<td>{esc(row.get(c, ''))}</td>" for c in columns) + "</tr>")
        out.append("</tbody></table>")
    out.append("</section>")
    return "".join(out)


# --- an account ---------------------------------------------------------------------------
def render_account(page: AccountPage) -> str:
    title = f"{page.handle} ({page.platform})"
    body = [f'<p><a href="/">&larr; console</a></p><h1>{esc(title)}</h1>']
    if page.freshness is not None:
        body.append(status_banner(page.freshness, ACCOUNT_REFRESH_S))
    body.append(f'<p>account id <code>{esc(page.account_id)}</code> · {number(page.followers)} followers'
                f' · latest observation {when(page.latest_at) if page.latest_at else "none"}</p>')
    body.append(_score_section(page))
    for heading, svg in page.charts:
        body.append(f'<section class="curve"><h2>{esc(heading)}</h2>{svg}</section>')
    body.append('<p class="muted">Shaded: alert windows (red: suspected purchase, green: organic breakout). '
                "Circles: the account's posts, area by interactions.</p>")
    body.append(_account_alerts(page.alerts))
    return shell(f"nichewatch: {title}", "".join(body), ACCOUNT_REFRESH_S)


def _score_section(page: AccountPage) -> str:
    out = ['<section id="score"><h2>Score</h2>']
    profile = page.profile
    if profile:
        components = profile.get("components") or {}
        out.append(f'<p><span class="big">{number(profile.get("score"), ".2f")}</span> '
                   f'({esc(profile.get("tier", ""))} in {esc(profile.get("primary_niche", ""))}, '
                   f'cohort of {number(profile.get("cohort_size"))}, median engagement '
                   f'{number(profile.get("median_engagement_rate"), ".2%")} over {number(profile.get("posts_in_window"))} posts)</p>')
        out.append("<table><tbody>" + "".join(
            f'<tr><th>{esc(c.replace("_", " "))}</th><td class="n">{number(components.get(c), ".2f")}</td></tr>'
            for c in COMPONENTS) + "</tbody></table>")
    elif page.last_score:
        score, tier, niche = page.last_score
        out.append(f'<p><span class="big">{number(score, ".2f")}</span> ({esc(tier)} in {esc(niche)}); '
                   '<span class="muted">components are kept for leaderboard and recently alerted accounts only</span></p>')
    else:
        out.append('<p class="muted">Not scored yet (too few posts in a tracked niche).</p>')
    if page.niche_posts:
        posts = ", ".join(f"{esc(n)}: {c}" for n, c in sorted(page.niche_posts.items()))
        out.append(f"<p>recent posts per niche: {posts}</p>")
    out.append("</section>")
    return "".join(out)


def _evidence_items(alert: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [item for item in alert.get("evidence") or [] if isinstance(item, Mapping)]


def _growth_summary(items: Sequence[Mapping[str, Any]]) -> str:
    values = {str(i.get("name")): i.get("value") for i in items}
    observed, explained = values.get("observed_growth"), values.get("explained_growth")
    if not isinstance(observed, int | float) or not isinstance(explained, int | float):
        return ""
    unexplained = values.get("unexplained_growth")
    unexplained = unexplained if isinstance(unexplained, int | float) else observed - explained
    share = f" ({explained / observed:.0%} of it)" if observed else ""
    line = (f'<div class="growth-summary"><span class="big">{number(observed, "+,.0f")}</span> followers observed; '
            f"engagement explains {number(explained, '+,.0f')}{esc(share)}; unexplained {number(unexplained, '+,.0f')}")
    per = values.get("followers_per_interaction")
    if isinstance(per, int | float):
        line += f"; {number(per, ',.3f')} followers per interaction"
    return line + "</div>" + growth_bars(float(observed), float(explained), float(unexplained))


def _account_alerts(alerts: Sequence[Mapping[str, Any]]) -> str:
    out = ['<section id="account-alerts"><h2>Alerts</h2>']
    if not alerts:
        out.append('<p class="muted">No alert for this account among the recent alerts.</p></section>')
        return "".join(out)
    for alert in alerts:
        items = _evidence_items(alert)
        out.append(
            f'<article class="alert"><h3>{classification(alert.get("classification", ""))} · '
            f'window {when(alert.get("window_start", ""))} to {when(alert.get("window_end", ""))}</h3>'
            f'<p>{number(alert.get("followers_before"))} &rarr; {number(alert.get("followers_after"))} followers '
            f'({number(alert.get("growth"), "+,.0f")}, {number(alert.get("growth_relative"), "+.1%")}); '
            f'the baseline expected {number(alert.get("expected_growth"), "+,.0f")} '
            f'(median {number(alert.get("baseline_growth_per_hour"), ",.1f")}/h)</p>'
        )
        out.append(_growth_summary(items))
        out.append('<table class="evidence"><thead><tr><th>evidence</th><th class="n">value</th><th>in words</th>'
                   "</tr></thead><tbody>")
        for item in items:
            out.append(f'<tr><td>{esc(item.get("name", ""))}</td><td class="n">{number(item.get("value"), ",.4g")}</td>'
                       f'<td>{esc(item.get("detail", ""))}</td></tr>')
        out.append("</tbody></table></article>")
    out.append("</section>")
    return "".join(out)
