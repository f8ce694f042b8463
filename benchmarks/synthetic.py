"""Synthetic catalogs for the benchmarks: plausible outdoor products, reproducible from a seed."""

from __future__ import annotations

import random
from dataclasses import dataclass

CATEGORIES = [
    "tents", "sleeping-bags", "sleeping-pads", "backpacks", "footwear", "jackets", "base-layers", "camp-kitchen",
    "lighting", "hydration", "navigation", "kids", "accessories", "climbing", "cycling", "paddling", "fishing",
    "ski-touring", "running", "travel",
]  # fmt: skip
BRANDS = [f"Brand{i:02d}" for i in range(30)]
COLORS = [
    "black",
    "forest green",
    "signal orange",
    "navy",
    "sand",
    "grey",
    "red",
    "sky blue",
    "olive",
    "white",
]
SIZES = ["XS", "S", "M", "L", "XL", "EU 38", "EU 40", "EU 42", "EU 44", "one size"]
NOUNS = {
    "tents": ["tent", "shelter", "tarp", "bivy"],
    "sleeping-bags": ["sleeping bag", "quilt", "liner"],
    "sleeping-pads": ["air pad", "foam mat", "camp mattress"],
    "backpacks": ["daypack", "trekking pack", "duffel"],
    "footwear": ["hiking boot", "trail runner", "sandal"],
    "jackets": ["rain jacket", "down jacket", "softshell"],
    "base-layers": ["merino top", "leggings", "socks"],
    "camp-kitchen": ["stove", "pot", "mug", "spork"],
    "lighting": ["headlamp", "lantern", "power bank"],
    "hydration": ["bottle", "water filter", "reservoir"],
}
ADJECTIVES = [
    "lightweight",
    "waterproof",
    "warm",
    "compact",
    "rugged",
    "breathable",
    "insulated",
    "packable",
    "durable",
]
USES = [
    "winter camping",
    "day hikes",
    "long treks",
    "festivals",
    "city commuting",
    "alpine tours",
    "family trips",
    "kayaking",
]


@dataclass(frozen=True)
class SyntheticProduct:
    sku: str
    title: str
    description: str
    category: str
    brand: str
    price_minor: int
    stock: int | None
    color: str
    size: str

    def csv_row(self) -> list[str]:
        stock = "" if self.stock is None else str(self.stock)
        price = f"{self.price_minor // 100}.{self.price_minor % 100:02d}"
        return [
            self.sku,
            self.title,
            price,
            "EUR",
            self.description,
            self.category,
            self.brand,
            stock,
            self.color,
            self.size,
        ]


CSV_HEADER = [
    "id",
    "title",
    "price",
    "currency",
    "description",
    "category",
    "brand",
    "stock",
    "color",
    "size",
]


def products(count: int, seed: int = 42) -> list[SyntheticProduct]:
    rng = random.Random(seed)
    out: list[SyntheticProduct] = []
    for i in range(count):
        category = rng.choice(CATEGORIES)
        noun = rng.choice(NOUNS.get(category, ["gear"]))
        adjective, use = rng.choice(ADJECTIVES), rng.choice(USES)
        brand = rng.choice(BRANDS)
        roll = rng.random()
        stock = 0 if roll < 0.3 else None if roll < 0.5 else rng.randint(1, 50)
        out.append(
            SyntheticProduct(
                sku=f"SKU-{i:06d}",
                title=f"{brand} {adjective.capitalize()} {noun.title()} {rng.randint(1, 99)}",
                description=f"A {adjective} {noun} for {use}, model {i}. Weighs {rng.randint(50, 3000)} g.",
                category=category,
                brand=brand,
                price_minor=rng.randint(500, 50_000),
                stock=stock,
                color=rng.choice(COLORS),
                size=rng.choice(SIZES),
            )
        )
    return out


def queries(count: int, seed: int = 7) -> list[str]:
    """Distinct shopper-like queries (so a query-embedding cache never helps)."""
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(count):
        category = rng.choice(list(NOUNS))
        out.append(f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS[category])} for {rng.choice(USES)} #{i}")
    return out
