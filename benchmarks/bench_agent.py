"""Agent overhead per turn, excluding model time, over a large catalog.

A function model answers instantly (its own time is measured and subtracted), and a
constant-time retriever returns SKUs of the big catalog, so what is left is the agent's
own work: loading and saving the conversation, language detection, prompt budgeting with
tiktoken, tool validation, the tools' database reads and writes, and event plumbing.
Wall-clock overhead suffers from other load on the machine; CPU time per turn does less.

    python -m benchmarks.bench_agent [--products 100000] [--turns 300]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert

from agent.fakes import FunctionModel, call
from agent.llm import Message, Reply, ToolSpec
from agent.service import Agent
from shop.db import open_database
from shop.models import DocChunk, Document, Merchant, Product
from shop.payments import TestProvider
from shop.settings import Settings

MERCHANT = "bench"
CATEGORIES = ["tents", "sleeping bags", "footwear", "jackets", "socks", "lamps", "stoves", "backpacks"]
BRANDS = [f"Brand{i}" for i in range(40)]


def seed(settings: Settings, products: int) -> None:
    db = open_database(settings)
    rng = random.Random(7)
    with db.session() as s:
        s.add(
            Merchant(
                id=MERCHANT,
                name="Bench Store",
                currency="EUR",
                languages=["en", "lt", "tr"],
                persona="Helpful.",
                handoff_contact="help@bench.example",
                settings={"shipping": {"rate": "4.99", "free_over": "75.00"}},
            )
        )
        s.flush()
        doc = Document(merchant_id=MERCHANT, doc_id="doc:returns", title="Returns", text="")
        doc.chunks.append(
            DocChunk(
                merchant_id=MERCHANT,
                chunk_id="doc:returns#0",
                ordinal=0,
                heading_path="Window",
                text="45 days.",
            )
        )
        s.add(doc)
    rows = [
        {
            "merchant_id": MERCHANT,
            "sku": f"SKU-{i:06d}",
            "title": f"{rng.choice(BRANDS)} {rng.choice(CATEGORIES)} model {i}",
            "description": "A sturdy item for the trail. " * 4,
            "category": rng.choice(CATEGORIES),
            "brand": rng.choice(BRANDS),
            "price_minor": rng.randint(500, 50000),
            "currency": "EUR",
            "stock": rng.choice([None, 0, 3, 50]),
            "attributes": {
                "color": rng.choice(["green", "red", "blue"]),
                "size": rng.choice(["S", "M", "L"]),
            },
            "active": True,
        }
        for i in range(products)
    ]
    for start in range(0, len(rows), 10_000):
        with db.session() as s:
            s.execute(insert(Product), rows[start : start + 10_000])
    db.dispose()


@dataclass(frozen=True)
class Hit:
    sku: str
    score: float


class ConstantRetriever:
    """Returns random SKUs of the catalog in constant time: retrieval cost is not the agent's."""

    def __init__(self, products: int) -> None:
        self.products = products
        self.rng = random.Random(11)

    def search_products(
        self, merchant_id: str, query: str, filters: object = None, limit: int = 10
    ) -> list[Hit]:
        return [Hit(f"SKU-{self.rng.randrange(self.products):06d}", 1.0) for _ in range(limit)]

    def search_policies(self, merchant_id: str, query: str, limit: int = 5) -> list[Hit]:
        return []


class TimedModel:
    """A scripted shopper-facing model cycling through the common turn shapes; records its own time."""

    def __init__(self, products: int) -> None:
        self.products = products
        self.spent = 0.0
        self.turn = 0
        self.inner = FunctionModel(self._reply, name="bench")
        self.name = "bench"

    def _reply(self, messages: list[Message], _tools: list[ToolSpec]) -> Reply:
        if messages[-1].role == "tool":
            return Reply(text="Here is what I found: a good option at a fair price, in stock.")
        self.turn += 1
        sku = f"SKU-{self.turn * 7919 % self.products:06d}"
        shape = self.turn % 5
        if shape == 0:
            return Reply(tool_calls=[call("search_products", query="warm tent", max_price="300", limit=5)])
        if shape == 1:
            return Reply(tool_calls=[call("get_product", sku=sku)])
        if shape == 2:
            return Reply(tool_calls=[call("view_cart")])
        if shape == 3:
            return Reply(tool_calls=[call("search_policies", query="returns")])
        return Reply(text="Happy to help with anything else.")

    def complete(self, messages: list[Message], tools: list[ToolSpec]) -> Reply:
        started = time.perf_counter()
        try:
            return self.inner.complete(messages, tools)
        finally:
            self.spent += time.perf_counter() - started

    def stream(self, messages: list[Message], tools: list[ToolSpec]):  # type: ignore[no-untyped-def]
        yield self.complete(messages, tools)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(products: int, turns: int, home: Path) -> dict[str, float]:
    settings = Settings(_env_file=None, home=home, model="scripted", merchant=MERCHANT)  # type: ignore[call-arg]
    started = time.perf_counter()
    seed(settings, products)
    seeded = time.perf_counter() - started
    db = open_database(settings)
    model = TimedModel(products)
    agent = Agent(settings, db, ConstantRetriever(products), model, TestProvider())  # type: ignore[arg-type]
    messages = ["Looking for a warm tent for two", "Ieškau šiltos palapinės", "Show me my cart", "ok thanks"]
    session = None
    for i in range(20):  # warm-up: imports, tokenizer, language models, SQLite caches
        session = agent.turn(MERCHANT, session, messages[i % len(messages)]).session_id
    overheads: list[float] = []
    cpu: list[float] = []
    prompt_tokens: list[int] = []
    session = None
    for i in range(turns):
        if i % 30 == 0:
            session = None  # a new shopper every 30 turns
        model.spent = 0.0
        cpu_before = time.process_time()
        result = agent.turn(MERCHANT, session, messages[i % len(messages)])
        cpu.append((time.process_time() - cpu_before - model.spent) * 1000)
        session = result.session_id
        overheads.append((result.latency_s - model.spent) * 1000)
        prompt_tokens.extend(result.prompt_tokens)
    db.dispose()
    return {
        "products": products,
        "turns": turns,
        "seed_s": round(seeded, 1),
        "overhead_ms_p50": round(statistics.median(overheads), 2),
        "overhead_ms_p95": round(percentile(overheads, 0.95), 2),
        "overhead_ms_max": round(max(overheads), 2),
        "cpu_ms_p50": round(statistics.median(cpu), 2),
        "cpu_ms_p95": round(percentile(cpu, 0.95), 2),
        "load_average": round(os.getloadavg()[0], 1),
        "prompt_tokens_mean": round(statistics.mean(prompt_tokens)),
        "prompt_tokens_max": max(prompt_tokens),
        "prompt_token_budget": settings.prompt_token_budget,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--turns", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = run(args.products, args.turns, Path(tmp))
    for key, value in figures.items():
        print(f"{key:22} {value}")


if __name__ == "__main__":
    main()
