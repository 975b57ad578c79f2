"""`nichewatch collect mastodon|bluesky`: publish real public posts of the tracked niches.

Posts and profile snapshots go to posts.raw / accounts.snapshots keyed by account_id (or to
``--out FILE.jsonl``). The niches come from niches.config, followed at runtime, or from
``--niches FILE``. Cursors and tracked posts are kept in a state file under
NICHEWATCH_COLLECTOR_STATE_DIR so a restart resumes where the collector stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from kafka.errors import KafkaError

from streams import __version__
from streams.cli import CliError
from streams.collectors.bluesky import BlueskySource
from streams.collectors.http import ApiClient, RetryPolicy
from streams.collectors.mastodon import MastodonSource
from streams.collectors.niches import NicheConfigFollower, NicheSource, StaticNiches
from streams.collectors.runner import Collector, Source
from streams.collectors.schedule import Tracker
from streams.collectors.sink import JsonlSink, KafkaSink, Sink
from streams.collectors.state import StateFile
from streams.commands.replay import load_niches
from streams.metrics import CollectorMetrics, CollectorPlatform, new_registry, serve
from streams.settings import Settings, load_settings

log = logging.getLogger("nichewatch.collect")

USER_AGENT = f"nichewatch/{__version__} (collector; public data only)"
DEFAULT_LISTEN_S = 10.0
IDLE_S = 2.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("collect", help="publish real posts of the tracked niches from Mastodon or Bluesky",
                                   description=__doc__.splitlines()[0])
    platforms = parser.add_subparsers(dest="platform", metavar="PLATFORM", required=True)

    mastodon = platforms.add_parser("mastodon", help="public tag timelines of one or more Mastodon servers")
    mastodon.add_argument("--instance", action="append", required=True, metavar="URL",
                          help="server base URL, e.g. https://mastodon.social (repeat for several)")
    bluesky = platforms.add_parser("bluesky", help="Jetstream posts, counters and profiles from the public AppView")
    bluesky.add_argument("--jetstream", metavar="URL", help="Jetstream subscribe URL (default NICHEWATCH_BLUESKY_JETSTREAM_URL)")
    bluesky.add_argument("--appview", metavar="URL", help="AppView base URL (default NICHEWATCH_BLUESKY_APPVIEW_URL)")
    bluesky.add_argument("--listen-seconds", type=float, default=DEFAULT_LISTEN_S,
                         help=f"with --once: longest time to read Jetstream (default {DEFAULT_LISTEN_S:.0f})")
    for sub in (mastodon, bluesky):
        sub.add_argument("--out", type=Path, metavar="FILE.jsonl", help="append events to this file instead of Kafka")
        sub.add_argument("--niches", type=Path, metavar="NICHES.json",
                         help='niches from a file ({"niche": ["tag", ...]}) instead of following niches.config')
        sub.add_argument("--once", action="store_true",
                         help="one discovery pass, observe what it found once (posts and authors), then exit")
        sub.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.platform == "mastodon":
        for url in args.instance:
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
                raise CliError(f"--instance {url!r} is not an http(s) URL")
    metrics = CollectorMetrics(new_registry())
    metrics.declare(args.platform)
    server = serve(metrics, settings.web_host, settings.collector_metrics_port)
    if server is not None:
        print(f"collect {args.platform}: metrics on http://{server.host}:{server.port}/metrics", flush=True)
    sink = _sink(args, settings, metrics)
    try:
        niches = _niches(args, settings)
    except BaseException:
        sink.close()
        raise
    try:
        asyncio.run(_collect(args, settings, metrics, niches, sink))
    finally:
        sink.close()
        niches.close()
        if server is not None:
            server.close()
    return 0


def _niches(args: argparse.Namespace, settings: Settings) -> NicheSource:
    if args.niches:
        return StaticNiches(load_niches(args.niches))
    try:
        return NicheConfigFollower(settings)
    except KafkaError as exc:
        raise CliError(f"cannot read {settings.topic_niches} from Kafka at {settings.kafka_bootstrap_servers} "
                       f"({exc}); give --niches FILE to run without a broker") from None


def _sink(args: argparse.Namespace, settings: Settings, metrics: CollectorMetrics) -> Sink:
    if args.out:
        return JsonlSink(args.out, metrics, args.platform)
    try:
        return KafkaSink(settings, metrics, args.platform)
    except KafkaError as exc:
        raise CliError(f"cannot reach Kafka at {settings.kafka_bootstrap_servers} ({exc}); "
                       "start one with `nichewatch kafka start`, set KAFKA_BOOTSTRAP_SERVERS, or use --out FILE") from None


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.collector_max_attempts, max_delay_s=settings.collector_backoff_cap_s)


async def _collect(args: argparse.Namespace, settings: Settings, metrics: CollectorMetrics,
                   niches: NicheSource, sink: Sink) -> None:
    platform: CollectorPlatform = args.platform
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    timeout = aiohttp.ClientTimeout(total=settings.collector_request_timeout_s)
    async with aiohttp.ClientSession(timeout=timeout, headers={"User-Agent": USER_AGENT}) as session:
        policy = retry_policy(settings)
        source: Source
        if platform == "mastodon":
            client = ApiClient(session, platform, metrics, policy, host_headers=_token_headers(args, settings))
            source = MastodonSource(client, args.instance, metrics)
        else:
            client = ApiClient(session, platform, metrics, policy)
            source = BlueskySource(client, session, metrics, args.jetstream or settings.bluesky_jetstream_url,
                                   args.appview or settings.bluesky_appview_url, policy)
        collector = Collector(
            source=source, niches=niches, sink=sink,
            state_file=StateFile(settings.collector_state_dir / f"{platform}.json"),
            tracker=Tracker(settings.reobserve_ages_s, settings.collector_profile_interval_s),
            metrics=metrics,
        )
        collector.load()
        if isinstance(source, BlueskySource):
            source.start(niches.tags)
            if args.once:
                await _listen(source, args.listen_seconds, stop)
        try:
            if args.once:
                result = await collector.run_pass(observe_everything=True)
                print(f"collect {platform}: {result.discovered} found, {result.new_posts} new, "
                      f"{result.observed} observed, {result.gone} gone, {result.snapshots} snapshots", flush=True)
            else:
                await collector.run(settings.collector_poll_interval_s, stop)
        finally:
            if isinstance(source, BlueskySource):
                await source.stop()


def _token_headers(args: argparse.Namespace, settings: Settings) -> dict[str, dict[str, str]]:
    """The access token is one server's credential: it goes to the first --instance only."""
    token = settings.mastodon_access_token
    if token is None:
        return {}
    host = urlsplit(args.instance[0]).netloc
    return {host: {"Authorization": f"Bearer {token.get_secret_value()}"}}


async def _listen(source: BlueskySource, longest_s: float, stop: asyncio.Event) -> None:
    """--once: read Jetstream until it has been quiet for a moment, or for ``longest_s``."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while not stop.is_set() and loop.time() - began < longest_s:
        await asyncio.sleep(0.2)
        quiet_since = max(source.last_message_at, began)
        if source.last_message_at and loop.time() - quiet_since >= IDLE_S:
            return
