"""The load benchmark at a smaller scale: concurrent shoppers on a real server, none failing."""

from __future__ import annotations

import pytest

from benchmarks.load_chat import main


@pytest.mark.slow
def test_concurrent_shoppers_all_answered_nothing_lost() -> None:
    # main() exits 0 only with no failed request and every answered turn stored in its own session.
    assert main(["--sessions", "40", "--turns", "2", "--time-limit", "120"]) == 0
