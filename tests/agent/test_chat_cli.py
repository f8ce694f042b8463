"""The terminal chat: streaming replies, the cart, and the slash commands."""

from __future__ import annotations

import io

from rich.console import Console

from agent.chat_cli import ChatSession
from agent.fakes import call
from agent.state import load_or_create
from tests.agent.conftest import MakeAgent
from tests.conftest import MERCHANT


def run(session: ChatSession, *lines: str) -> str:
    queue = list(lines)

    def read() -> str:
        if not queue:
            raise EOFError
        return queue.pop(0)

    session.run(read)
    output = session.console.file
    assert isinstance(output, io.StringIO)
    return output.getvalue()


def test_a_conversation_with_cart_and_commands(make_agent: MakeAgent) -> None:
    agent = make_agent(call("add_to_cart", sku="BAG-SYN-0"), "Added the Polar bag.", "Sveiki!")
    console = Console(file=io.StringIO(), width=120, color_system=None)
    session = ChatSession(agent, MERCHANT, console)
    out = run(session, "add the synthetic bag", "/cart", "/lang lt", "hello", "/reset", "/quit", "never read")
    assert "assistant> (add_to_cart) Added the Polar bag." in out
    assert out.count("BAG-SYN-0") == 2  # shown after the change and by /cart
    assert "89.00" in out and "Language: lt" in out and "New conversation." in out
    assert session.session_id is None
    assert len(agent.model.sent) == 3  # type: ignore[attr-defined]


def test_lang_pins_the_language_of_the_session(make_agent: MakeAgent) -> None:
    agent = make_agent("Labas!")
    session = ChatSession(agent, MERCHANT, Console(file=io.StringIO(), color_system=None))
    run(session, "/lang lt", "hello there, what do you sell")
    record = load_or_create(agent.db, MERCHANT, session.session_id or "")
    assert record.state.lang == "lt" and record.state.lang_locked


def test_unknown_commands_show_help(make_agent: MakeAgent) -> None:
    session = ChatSession(make_agent(), MERCHANT, Console(file=io.StringIO(), color_system=None))
    assert "/cart" in run(session, "/help")
