"""The Flask service: feeds, pages, the ingest API and health (see :func:`services.app.create_app`)."""
