"""Orders placed from the terminal chat produce merchant events, as those from the server do."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import agent.chat_cli
from channels import outbox
from cli import app as cli_app


def test_terminal_chat_records_merchant_events(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = event.contains(Session, "after_flush", outbox._collect)
    if installed:
        event.remove(Session, "after_flush", outbox._collect)
        event.remove(Session, "before_flush", outbox._stamp_handoff)
    seen: dict[str, bool] = {}

    def fake_chat(*_args: Any, **_kwargs: Any) -> None:
        seen["hooked"] = event.contains(Session, "after_flush", outbox._collect)

    monkeypatch.setattr(agent.chat_cli, "chat", fake_chat)
    result = CliRunner().invoke(cli_app, ["chat"])
    assert result.exit_code == 0, result.output
    assert seen == {"hooked": True}
    if not installed:  # leave the process as this test found it
        event.remove(Session, "after_flush", outbox._collect)
        event.remove(Session, "before_flush", outbox._stamp_handoff)
