# The nichewatch image: one CLI, used by the worker, init and feed services of
# docker-compose.yml (`nichewatch worker`, `nichewatch topics create`, ...).
# Build from the repository root:  docker build -f docker/worker.Dockerfile .
#
# Two stages: the first compiles the native core (core/, a Rust crate) into a wheel with
# the Rust toolchain of the official rust image; the second installs that wheel only.
FROM rust:1-slim-bookworm AS rust

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RUSTUP_HOME=/usr/local/rustup \
    CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:$PATH
COPY --from=rust /usr/local/rustup /usr/local/rustup
COPY --from=rust /usr/local/cargo /usr/local/cargo
# The Rust linker needs a C toolchain.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# worker.Dockerfile.dockerignore keeps the venv, git history and local state out of the context.
COPY . .
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels

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
