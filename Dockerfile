# Quorum: one image for the bot, the engines and the admin CLI.
FROM python:3.12-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 quorum

WORKDIR /app
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
RUN pip install . && apt-get purge -y build-essential && apt-get autoremove -y

USER quorum
WORKDIR /home/quorum
EXPOSE 9108
# The bot and the engines in one process; it migrates the database at start and stops gracefully on SIGTERM.
STOPSIGNAL SIGTERM
CMD ["quorum", "run"]
