"""``shopagent chat``: talk to the agent in the terminal, with streaming replies and the cart.

Commands: ``/cart`` shows the cart, ``/reset`` starts a new conversation (and cart),
``/lang CODE`` pins the reply language (``/lang`` alone unpins it), ``/quit`` leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from agent.events import AgentEvent
from agent.service import Agent, build_agent
from agent.state import new_session_id
from shop.catalog import get_merchant
from shop.errors import ConfigError, NotFound
from shop.settings import Settings

HELP = "Commands: /cart  /reset  /lang CODE  /quit"


def cart_table(cart: dict[str, Any]) -> Table:
    table = Table(title="Cart", show_edge=False)
    for column in ("SKU", "Item", "Qty", "Price", "Total"):
        table.add_column(column, justify="right" if column in ("Qty", "Price", "Total") else "left")
    for line in cart.get("lines", []):
        table.add_row(
            line["sku"], line["title"], str(line["quantity"]), line["unit_price"], line["line_total"]
        )
    table.add_row(
        "",
        "Subtotal",
        str(cart.get("item_count", 0)),
        "",
        f"{cart.get('subtotal', '0')} {cart.get('currency', '')}",
    )
    return table


class ChatSession:
    """One terminal conversation; input and output are injected so it can be tested."""

    def __init__(self, agent: Agent, merchant_id: str, console: Console) -> None:
        self.agent = agent
        self.merchant_id = merchant_id
        self.console = console
        self.session_id: str | None = None

    def command(self, text: str) -> bool:
        """Run a slash command; False when the user wants to leave."""
        name, _, arg = text.partition(" ")
        if name in ("/quit", "/exit"):
            return False
        if name == "/reset":
            self.session_id = None
            self.console.print("[dim]New conversation.[/dim]")
        elif name == "/cart":
            if self.session_id is None:
                self.console.print("[dim]The cart is empty.[/dim]")
            else:
                self.console.print(cart_table(self.agent.cart(self.merchant_id, self.session_id)))
        elif name == "/lang":
            self.session_id = self.session_id or new_session_id()
            self.agent.set_language(self.merchant_id, self.session_id, arg.strip().lower())
            self.console.print(f"[dim]Language: {arg.strip() or 'automatic'}[/dim]")
        else:
            self.console.print(f"[dim]{HELP}[/dim]")
        return True

    def say(self, text: str) -> None:
        cart_changed = False
        self.console.print("[bold green]assistant>[/bold green] ", end="")

        def on_event(event: AgentEvent) -> None:
            nonlocal cart_changed
            if event.type == "token":
                self.console.print(event.data.get("text", ""), end="", markup=False, highlight=False)
            elif event.type == "tool_started":
                self.console.print(f"[dim]({event.data['name']})[/dim] ", end="")
            elif event.type == "cart":
                cart_changed = True

        result = self.agent.turn(self.merchant_id, self.session_id, text, on_event=on_event)
        self.session_id = result.session_id
        self.console.print()
        if cart_changed:
            self.console.print(cart_table(result.cart))

    def run(self, read: Callable[[], str]) -> None:
        self.console.print(f"[dim]{HELP}[/dim]")
        while True:
            try:
                text = read().strip()
            except (EOFError, KeyboardInterrupt):
                break
            if not text:
                continue
            if text.startswith("/"):
                if not self.command(text):
                    break
                continue
            self.say(text)


def chat(settings: Settings, model: str | None = None, merchant: str | None = None) -> None:
    agent = build_agent(settings, model=model)
    merchant_id = merchant or settings.merchant
    try:
        with agent.db.session() as session:
            store = get_merchant(session, merchant_id).name
    except NotFound:
        raise ConfigError(
            f"no store data for merchant {merchant_id!r}: run `shopagent ingest shop/demo_store` first"
        ) from None
    console = Console()
    console.print(f"[bold]{store}[/bold] [dim]({agent.model.name})[/dim]")
    ChatSession(agent, merchant_id, console).run(lambda: console.input("[bold blue]you>[/bold blue] "))
