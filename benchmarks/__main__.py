"""Run every benchmark with its defaults: ``python -m benchmarks`` (or ``make bench``).

``--quick`` runs the retrieval benchmarks smaller (20,000 products, 2,000 rows, the fast
``use`` embedder) so the whole set finishes in minutes; ``--only NAME`` runs one of
search, ingest, crosslingual, agent, load.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from benchmarks import bench_agent, bench_crosslingual, bench_ingest, bench_search, load_chat


def _benches(quick: bool) -> dict[str, Callable[[], object]]:
    if quick:
        return {
            "search": lambda: bench_search.main(
                ["--products", "20000", "--queries", "100", "--embedder", "use"]
            ),
            "ingest": lambda: bench_ingest.main(["--rows", "2000", "--embedder", "use"]),
            "crosslingual": lambda: bench_crosslingual.main(["--embedders", "hash,use"]),
            "agent": bench_agent.main,
            "load": lambda: load_chat.main([]),
        }
    return {
        "search": lambda: bench_search.main([]),
        "ingest": lambda: bench_ingest.main([]),
        "crosslingual": lambda: bench_crosslingual.main([]),
        "agent": bench_agent.main,
        "load": lambda: load_chat.main([]),
    }


def main(argv: list[str]) -> None:
    benches = _benches("--quick" in argv)
    only = argv[argv.index("--only") + 1] if "--only" in argv else None
    for name, bench in benches.items():
        if only is None or name == only:
            print(f"== {name} ==", flush=True)
            bench()


if __name__ == "__main__":
    main(sys.argv[1:])
