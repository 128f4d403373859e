"""Configuration: every tunable's default (:mod:`wirefeed.config.defaults`), the settings read once
from the environment (:mod:`wirefeed.config.settings`) and the topic taxonomy (``topics.toml``)."""

from wirefeed.config.settings import Settings

__all__ = ["Settings"]
