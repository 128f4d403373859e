"""Data only: the categorizer's embedding model and topic head (see README.md here); the
scripts that rebuild them are in ``models/build/`` and are not installed."""
