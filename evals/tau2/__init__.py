"""τ²-bench retail, run against shopagent: import, reference replay, user simulator, scoring."""
