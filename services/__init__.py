"""The Flask service: feeds, pages, the ingest API and health
(see :func:`wirefeed.services.app.create_app`)."""
