"""The simulated customer: an LLM (any :class:`~agent.llm.ChatModel`) playing a task's scenario.

It behaves as τ²-bench's user simulator does: it sees the agent's messages as the other
party, answers one message at a time following its scenario, and ends the conversation with
``###STOP###`` (goal reached), ``###TRANSFER###`` (handed to a human) or
``###OUT-OF-SCOPE###`` (the scenario does not say how to go on).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from agent.llm import ChatModel, Message, Usage
from agent.resilience import RetryPolicy, retrying

STOP = "###STOP###"
TRANSFER = "###TRANSFER###"
OUT_OF_SCOPE = "###OUT-OF-SCOPE###"
STOP_TOKENS = (STOP, TRANSFER, OUT_OF_SCOPE)
GREETING = "Hi! How can I help you today?"
"""The agent's fixed first message, as in τ²-bench."""


@lru_cache(maxsize=1)
def guidelines() -> str:
    return (resources.files(__package__) / "user_simulator.md").read_text(encoding="utf-8")


def system_prompt(scenario: str) -> str:
    return f"{guidelines().strip()}\n\n<scenario>\n{scenario.strip()}\n</scenario>"


@dataclass
class UserTurn:
    text: str
    usage: Usage = field(default_factory=Usage)
    stop: str | None = None
    """The stop token that ended the conversation, if any."""


class UserSimulator:
    def __init__(
        self, model: ChatModel, scenario: str, retry: RetryPolicy | None = None, timeout_s: float = 600.0
    ) -> None:
        self.model = model
        self.retry = retry or RetryPolicy()
        """Transient provider errors are retried as the agent's own calls are."""
        self.timeout_s = timeout_s
        self.system = Message("system", system_prompt(scenario))
        self.history: list[Message] = []
        """The conversation from the customer's side: the agent speaks as ``user``."""

    def respond(self, agent_text: str) -> UserTurn:
        self.history.append(Message("user", agent_text))
        messages = [self.system, *self.history]
        deadline = self.retry.clock() + self.timeout_s
        reply = retrying(lambda: self.model.complete(messages, []), self.retry, deadline)
        text = reply.text.strip()
        self.history.append(Message("assistant", text))
        stop = next((token for token in STOP_TOKENS if token in text), None)
        return UserTurn(text, reply.usage, stop)
