"""The composition root: settings in, a configured Faust app with its agents out."""

from __future__ import annotations

import faust

from streams import __version__
from streams.kafka_config import faust_broker_url, faust_credentials
from streams.settings import Settings
from streams.topics import Topics, declare_topics


def build_app(settings: Settings) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=faust_broker_url(settings),
        broker_credentials=faust_credentials(settings),
        store=settings.store,
        datadir=str(settings.data_dir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        web_host=settings.web_host,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        # The HTTP API is ours and read-only: Faust's table dumps and debug views stay off.
        web_tables_enabled=False,
        web_router_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_metrics_enabled=False,
        version=1,
        autodiscover=False,
    )
    topics = declare_topics(app, settings)
    _register_agents(app, topics)
    app.conf.nichewatch_version = __version__  # type: ignore[attr-defined]
    return app


def _register_agents(app: faust.App, topics: Topics) -> None:
    from streams.agents import ingest

    ingest.register(app, topics)
