# One image for every wirefeed service: web, ingest worker, categorizer workers.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    WIREFEED_TOPICS=/app/config/topics.toml
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY feeds ./feeds
COPY services ./services
COPY workers ./workers
COPY wirefeed ./wirefeed
COPY sample ./sample
COPY models ./models
RUN pip install . && useradd --system --uid 10001 wirefeed
USER wirefeed
EXPOSE 8080
# Healthcheck of the web service; workers override it in docker-compose.yml.
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"
CMD ["wirefeed", "serve", "--port", "8080"]
