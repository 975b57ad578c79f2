"""The composition root: settings in, a configured Faust app with its agents out."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import faust
from faust.types import TP
from faust.web import Request, Response, View

from schemas.events import FollowerSpikeAlert, InfluencerProfile
from schemas.niche_tags import NicheTagReport
from streams.agents.accounts import AGENT_NAME, AccountsAgent, PartitionStore
from streams.agents.cohorts import AGENT_NAME as COHORTS_AGENT
from streams.agents.cohorts import CohortsAgent, cohort_summaries
from streams.changelog import StateValue, decode_state
from streams.console.data import ConsoleData
from streams.console.leaderboard import LeaderboardStore
from streams.console.routes import register_console
from streams.core.config import EngineConfig
from streams.core.state import AccountState
from streams.core.tagstats import TagBook
from streams.dlq import BadRecord
from streams.faust_batch import BatchApp, OutputWriter, TableWriter
from streams.follower import TopicFollower, only_valid
from streams.kafka_config import faust_broker_url, faust_credentials
from streams.mention_reader import MentionReader
from streams.metrics import TOP_RANKS, Metrics, new_registry
from streams.niche_config import EngineNiches
from streams.niche_tags import SharedTagObservations, TagReportPublisher, TagReports
from streams.native_engine import NativeWorkerEngine
from streams.pipeline import Pipeline
from streams.settings import Settings
from streams.topics import declare_input_topics
from streams.views import RecentAlerts, account_summary, parse_limit, quiet_client_errors

GAUGE_INTERVAL_S = 5.0
COMMIT_EVERY_RECORDS = 10_000_000  # in effect never: commits follow broker_commit_interval
log = logging.getLogger(__name__)


@dataclass
class Worker:
    """Everything one worker process is made of, wired once."""

    settings: Settings
    app: BatchApp
    metrics: Metrics
    engine: NativeWorkerEngine
    accounts: TableWriter
    board: LeaderboardStore
    recent_alerts: RecentAlerts
    console: ConsoleData
    tag_reports: TagReports = field(default_factory=TagReports)  # niches.tags as published


def build_app(settings: Settings, metrics: Metrics | None = None) -> Worker:
    metrics = metrics if metrics is not None else Metrics(new_registry())
    quiet_client_errors()  # a malformed request is the client's error: a warning, no traceback
    app = BatchApp(
        settings.app_id,
        broker=faust_broker_url(settings),
        broker_credentials=faust_credentials(settings),
        store=settings.store,
        datadir=str(settings.data_dir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        # Whole fetched batches go to the accounts agent (streams.faust_batch); bigger
        # fetches mean fewer trips through Faust's consumer loop per message.
        broker_max_poll_records=10_000,
        consumer_max_fetch_size=4 * 1024 * 1024,
        broker_commit_interval=1.0,
        # Commits come from that interval only. Faust's default also commits every 10,000
        # acked messages: with fetches of 10,000 records, a commit (changelog flush, one
        # record per account changed, and a wait for the broker's acks) after every fetch.
        broker_commit_every=COMMIT_EVERY_RECORDS,
        # A worker that dies without leaving the group is noticed after this long and its
        # partitions move to the others (Faust's default is 60 s).
        broker_session_timeout=10.0,
        web_host=settings.web_host,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        canonical_url=f"http://{settings.web_host}:{settings.web_port}",
        # The HTTP API is ours and read-only: Faust's table dumps and debug views stay off.
        web_tables_enabled=False,
        web_router_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_metrics_enabled=False,
        version=1,
        autodiscover=False,
    )
    topics = declare_input_topics(app, settings)
    table = app.Table(
        "accounts",
        # Changelog key = account_id bytes = the source record's key, so Faust's router
        # hashes a key to the same partition the producer did.
        key_type=bytes,
        value_type=StateValue,  # decoded by PartitionStore, which survives a corrupt entry
        partitions=settings.topic_partitions,
        default=None,
    )
    config = EngineConfig()
    outputs = OutputWriter(app)
    # The engine holds its accounts' state and returns the compact state of every account
    # it wrote: the table keeps those bytes as they are.
    engine = NativeWorkerEngine(config, tags=TagBook())
    accounts = TableWriter(app, table, encode=_as_is, after=outputs)
    store = PartitionStore(accounts, metrics)
    pipeline = Pipeline(engine, metrics, store)
    _forget_revoked(app, settings, engine)
    agent = AccountsAgent(settings, pipeline, store, outputs)
    metrics.declare_agent(AGENT_NAME)
    app.batch_agent(topics.posts)(agent)
    app.batch_agent(topics.snapshots)(agent)
    _register_cohorts(app, settings, metrics, outputs, topics.contributions)

    board, recent = LeaderboardStore(), RecentAlerts()
    worker = Worker(settings, app, metrics, engine, accounts, board, recent, ConsoleData(board, recent, metrics.registry))
    _follow_shared_topics(worker)
    _register_settle(worker, agent)
    _register_views(worker, table)
    _register_gauges(worker)
    _register_tag_reports(worker)
    return worker


def _as_is(value: bytes) -> bytes:
    return value


def _forget_revoked(app: BatchApp, settings: Settings, engine: NativeWorkerEngine) -> None:
    """A revoked partition's accounts leave the native engine: the next owner writes them,
    and if the partition comes back, its state is read again from the table."""
    inputs = {settings.topic_posts, settings.topic_snapshots}

    @app.on_partitions_revoked.connect
    async def forget(sender: object, revoked: set[TP], **kwargs: object) -> None:
        partitions = sorted({tp.partition for tp in revoked if tp.topic in inputs})
        if partitions:
            forgotten = engine.native.forget_partitions(partitions)
            log.info("native engine: %d accounts of revoked partitions %s forgotten", forgotten, partitions)


def _register_cohorts(app: BatchApp, settings: Settings, metrics: Metrics, outputs: OutputWriter, topic: faust.TopicT) -> None:
    """The owner of each niche's cohort (streams/agents/cohorts.py)."""
    members = app.Table(
        "cohort-members",
        key_type=bytes,  # niche \x1f account_id; written with the contribution's partition
        value_type=bytes,
        partitions=settings.topic_partitions,
        default=None,
    )
    writer = TableWriter(app, members, encode=bytes, after=outputs)
    metrics.declare_agent(COHORTS_AGENT)
    app.batch_agent(topic)(CohortsAgent(settings, writer, outputs, metrics, lambda: app.consumer_generation_id))


SETTLE_CHUNK = 5_000  # accounts settled between two turns of the event loop


def _register_settle(worker: Worker, agent: AccountsAgent) -> None:
    app, interval = worker.app, worker.settings.settle_interval_s
    budget = worker.settings.settle_accounts_per_pass
    # A pass checks up to ``budget`` accounts, round-robin over each partition's keys, so its
    # cost stays bounded however many accounts the worker owns.
    cursors: dict[int, tuple[int, int]] = {}  # partition -> (generation, index of the next key)
    republished: dict[int, int] = {}  # partition -> generation in which all its profiles were re-published

    @app.timer(interval)
    async def settle_scores() -> None:
        # Only while the assignment stands: never during recovery, and a pass stops when a
        # rebalance starts (the partitions it was settling may belong to another worker now).
        # The first cycle after an assignment re-publishes every profile of the partition:
        # the previous owner may have published a settled profile whose state never reached
        # the changelog (killed between the two), so the topic's last profile could be one
        # this worker's state does not know of.
        generation = app.consumer_generation_id
        partitions = agent.store.writer.keys_by_partition()
        share = max(1, budget // max(1, len(partitions)))
        checked = published = 0
        for partition, keys in partitions.items():
            began, start = cursors.get(partition, (generation, 0))
            if began != generation:
                start = 0  # a new assignment: a cycle from the first key
            threshold = None if republished.get(partition) == generation else 0.0
            end = min(len(keys), start + share)
            for first in range(start, end, SETTLE_CHUNK):
                if app.rebalancing or not app.tables.recovery.completed.is_set() or app.consumer_generation_id != generation:
                    log.info("settle pass stopped (rebalancing %s, recovered %s)", app.rebalancing,
                             app.tables.recovery.completed.is_set())
                    return
                chunk = keys[first : min(end, first + SETTLE_CHUNK)]
                published += agent.settle(partition, chunk, threshold)
                checked += len(chunk)
                cursors[partition] = (generation, first + len(chunk))
                await asyncio.sleep(0)
            if end >= len(keys):  # the cycle is complete
                republished[partition] = generation
                cursors[partition] = (generation, 0)
        if published:
            log.debug("settle pass: %d accounts checked, %d profiles re-published", checked, published)


def _follow_shared_topics(worker: Worker) -> None:
    settings, app, metrics = worker.settings, worker.app, worker.metrics
    niches = EngineNiches(worker.engine, on_added=metrics.declare_niche)

    followers = [
        TopicFollower(settings, settings.topic_niches, niches.apply, metrics),
        TopicFollower(settings, settings.topic_influencers, only_valid(InfluencerProfile, worker.console.on_profile), metrics),
        TopicFollower(settings, settings.topic_alerts, only_valid(FollowerSpikeAlert, worker.console.on_alert), metrics),
        TopicFollower(settings, settings.topic_niche_tags, only_valid(NicheTagReport, worker.tag_reports.apply), metrics),
        TopicFollower(settings, settings.topic_cohorts, cohort_summaries(worker.engine.cohorts), metrics),  # type: ignore[arg-type]
        TopicFollower(settings, settings.topic_tag_observations, SharedTagObservations(worker.engine.tags).apply, metrics),  # type: ignore[arg-type]
    ]
    # No post is judged before the niche set that existed at start-up is loaded, nor before
    # the mentions observed so far on any partition are known.
    mentions = MentionReader(settings, worker.engine.mentions)
    app.batch_gates.append(followers[0].ready.wait)
    app.batch_aligners.append(mentions.caught_up)
    for follower in followers:
        app.task(follower.run)
    app.task(mentions.run)


def _register_views(worker: Worker, table: faust.Table) -> None:
    app, board, recent = worker.app, worker.board, worker.recent_alerts
    register_console(worker, table, worker.console)

    @app.page("/accounts/{account_id}")
    @app.table_route(table=table, match_info="account_id")
    async def account(view: View, request: Request, account_id: str) -> Response:
        state = worker.accounts.lookup(account_id.encode())
        if state is None:
            return view.json({"error": f"account {account_id} is not tracked"}, status=404)
        if not isinstance(state, AccountState):
            try:
                state = decode_state(state, account_id, worker.engine.config)
            except BadRecord:
                return view.json({"error": f"account {account_id} has no readable state"}, status=404)
        body = account_summary(state)
        body["recent_alerts"] = recent.latest(10, account_id)
        return view.json(body)

    @app.page("/niches/{niche}/top")
    async def top(view: View, request: Request, niche: str) -> Response:
        try:
            limit = parse_limit(request.query.get("limit"))
        except ValueError as exc:
            return view.json({"error": str(exc)}, status=400)
        return view.json({"niche": niche, "influencers": board.top(niche, limit)})

    @app.page("/niches/{niche}/tags")
    async def tags(view: View, request: Request, niche: str) -> Response:
        report = worker.tag_reports.latest.get(niche)
        if report is None:
            return view.json({"error": f"no tag report for niche {niche} on {worker.settings.topic_niche_tags}"}, status=404)
        return view.json(report.model_dump(mode="json"))

    @app.page("/alerts/recent")
    async def alerts(view: View, request: Request) -> Response:
        try:
            limit = parse_limit(request.query.get("limit"), default=20)
        except ValueError as exc:
            return view.json({"error": str(exc)}, status=400)
        return view.json({"alerts": recent.latest(limit)})


def _register_tag_reports(worker: Worker) -> None:
    app, settings, book = worker.app, worker.settings, worker.engine.tags
    assert book is not None
    publisher = TagReportPublisher(book, lambda: worker.engine.niche_names, worker.metrics)

    @app.timer(settings.tag_report_interval_s)
    async def publish_tag_reports() -> None:
        for key, value in publisher.changed():
            await app.producer.send_and_wait(settings.topic_niche_tags, key, value, None, None, None)


def _register_gauges(worker: Worker) -> None:
    app, metrics, settings = worker.app, worker.metrics, worker.settings
    inputs = {settings.topic_posts, settings.topic_snapshots}

    @app.timer(GAUGE_INTERVAL_S)
    async def refresh_gauges() -> None:
        consumer = app.consumer
        for tp in consumer.assignment():
            if tp.topic in inputs:
                highwater = consumer.highwater(tp)
                position = consumer._read_offset.get(tp)  # last offset handed to the agent
                if highwater is not None:
                    metrics.set_consumer_lag(tp.topic, tp.partition, max(0, highwater - 1 - (position if position is not None else -1)))
        metrics.set_accounts_tracked(len(worker.accounts.table.data))
        metrics.set_state_size(worker.accounts.state_bytes)
        for niche, scores in worker.board.scores_by_niche(TOP_RANKS).items():
            metrics.set_top_scores(niche, scores)

    @app.on_rebalance_complete.connect
    async def on_rebalance(app_: faust.App, **kwargs: object) -> None:
        # Faust sends this once the assigned changelog partitions are read to their highwaters
        # and applied (faust/tables/recovery.py on_recovery_completed), before "Worker ready".
        metrics.rebalanced([(tp.topic, tp.partition) for tp in app.consumer.assignment() if tp.topic in inputs])
        metrics.tables_recovered()
