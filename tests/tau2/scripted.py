"""Scripted stand-ins for the two LLMs of a τ² run, as pure functions of the conversation.

The customer opens with the task id; the agent then plays the task's reference actions in
order, asking for a yes after the first call of each write and repeating the identical call
once the customer confirmed, and closes by telling the facts the task wants communicated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from agent.fakes import FunctionModel, call
from agent.llm import Message, Reply, ToolSpec
from evals.tau2.replay import WRITE_ACTIONS
from evals.tau2.tasks import Task

Action = tuple[str, dict[str, Any]]
ASK = "Shall I go ahead with this change? Please confirm."
DONE = "Everything is done."
OPENING = re.compile(r"task (\S+)\.")


def agent_steps(actions: list[Action], confirm: bool = True, closing: str = "") -> list[Reply | str]:
    steps: list[Reply | str] = []
    for name, arguments in actions:
        steps.append(Reply(tool_calls=[call(name, **arguments)]))
        if name in WRITE_ACTIONS:
            steps.append(ASK)
            if confirm:
                steps.append(Reply(tool_calls=[call(name, **arguments)]))
    steps.append(f"{DONE} {closing}".strip())
    return steps


def reference_agent(
    tasks: dict[str, Task],
    edit: Callable[[Task], list[Action]] = lambda t: t.actions,
    confirm: bool = True,
) -> FunctionModel:
    def reply(messages: list[Message], _tools: list[ToolSpec]) -> Reply | str:
        first_user = next(m.content for m in messages if m.role == "user")
        opening = OPENING.search(first_user)
        assert opening is not None, first_user
        task = tasks[opening.group(1)]
        steps = agent_steps(edit(task), confirm, " ".join(task.communicate_info))
        done = sum(1 for m in messages if m.role == "assistant")
        return steps[min(done, len(steps) - 1)]

    return FunctionModel(reply, name="scripted-agent")


def scripted_customer(tasks: dict[str, Task]) -> FunctionModel:
    by_scenario = {t.scenario: t.id for t in tasks.values()}

    def reply(messages: list[Message], _tools: list[ToolSpec]) -> str:
        scenario = messages[0].content.split("<scenario>\n", 1)[1].rsplit("\n</scenario>", 1)[0]
        agent_said = messages[-1].content
        if len(messages) == 2:
            return f"Hello, this is about task {by_scenario[scenario]}."
        if ASK in agent_said:
            return "yes"
        return "###STOP###" if DONE in agent_said else "Please continue."

    return FunctionModel(reply, name="scripted-customer")
