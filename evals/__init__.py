"""Offline evaluation: canned dialogues, retrieval queries, metrics and reports."""
