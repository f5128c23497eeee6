# Quorum: one image for the bot, the engines and the admin CLI (`docker compose run --rm quorum quorum admin ...`).
# Two stages: the build stage installs Quorum into a virtualenv (compilers stay there); the runtime stage is
# python:3.12-slim with that virtualenv only, run by an unprivileged user.

FROM python:3.12-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/* \
    && python -m venv /opt/quorum

ENV PATH=/opt/quorum/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY quorum ./quorum
COPY config ./config
COPY domain ./domain
COPY analysis ./analysis
COPY adapters ./adapters
COPY bot ./bot
COPY engine ./engine
COPY distributed ./distributed
COPY risk ./risk
COPY db ./db
COPY telemetry ./telemetry
COPY sql ./sql
# pip compiles the bytecode here, so a container start recompiles nothing
RUN pip install .


FROM python:3.12-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/quorum/bin:$PATH \
    METRICS_PORT=9108 \
    LOG_FORMAT=json

RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin quorum
COPY --from=build /opt/quorum /opt/quorum

USER quorum
WORKDIR /home/quorum
EXPOSE 9108
# Healthy while /healthz on the metrics port answers 2xx (slim has no curl: Python's urllib asks).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('METRICS_PORT', '9108'), timeout=4)"]
# The bot and the engines in one process; it stops gracefully on SIGTERM (each engine finishes its step).
STOPSIGNAL SIGTERM
CMD ["quorum", "run"]
