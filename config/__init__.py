"""Configuration: every tunable's default (:mod:`config.defaults`), the settings read once
from the environment (:mod:`config.settings`) and the topic taxonomy (``topics.toml``)."""

from config.settings import Settings

__all__ = ["Settings"]
