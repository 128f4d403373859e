# One image for every wirefeed service: web, ingest worker, categorizer workers.
# The package is installed from the checkout (not editable): models, sample, topics.toml and
# nginx.conf ship inside it, so the service runs from an empty working folder.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY config ./config
COPY feeds ./feeds
COPY services ./services
COPY workers ./workers
COPY wirefeed ./wirefeed
COPY sample ./sample
COPY models ./models
RUN pip install . && rm -rf /src && useradd --system --uid 10001 wirefeed && mkdir /app && chown wirefeed /app
WORKDIR /app
USER wirefeed
EXPOSE 8080
# Healthcheck of the web service; workers override it in docker-compose.yml.
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"
CMD ["wirefeed", "serve", "--port", "8080"]
