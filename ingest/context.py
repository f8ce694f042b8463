"""What every loader is told about the run: merchant, default currency and the limits."""

from __future__ import annotations

from dataclasses import dataclass

from shop.settings import Settings


@dataclass(frozen=True)
class LoadContext:
    merchant_id: str
    default_currency: str | None
    """From store.yaml (this run or stored); rows without a currency column use it."""
    max_rows: int = 200_000
    max_cell_chars: int = 20_000

    @classmethod
    def from_settings(cls, settings: Settings, merchant_id: str, default_currency: str | None) -> LoadContext:
        return cls(
            merchant_id=merchant_id,
            default_currency=default_currency,
            max_rows=settings.max_rows,
            max_cell_chars=settings.max_cell_chars,
        )
