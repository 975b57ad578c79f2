# The nichewatch image: one CLI, used by the worker, init and feed services of
# docker-compose.yml (`nichewatch worker`, `nichewatch topics create`, ...).
# Build from the repository root:  docker build -f docker/worker.Dockerfile .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# worker.Dockerfile.dockerignore keeps the venv, git history and local state out of the context.
COPY . .
RUN pip install . && rm -rf /src

# State (RocksDB tables, Faust data) lives in /data; run as an unprivileged user.
RUN useradd --system --uid 10001 --home-dir /data --create-home nichewatch
USER nichewatch
WORKDIR /data
ENV NICHEWATCH_DATA_DIR=/data \
    NICHEWATCH_WEB_HOST=0.0.0.0 \
    NICHEWATCH_METRICS_PORT=9108

# 9108: Prometheus /metrics; 6066: Faust web (partition-aware table views).
EXPOSE 9108 6066
ENTRYPOINT ["nichewatch"]
CMD ["worker"]
