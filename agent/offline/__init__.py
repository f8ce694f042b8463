"""The ``offline`` model: a rule- and example-driven shopping assistant that needs no LLM."""

from agent.offline.model import OfflineModel

__all__ = ["OfflineModel"]
