"""Prompt tokens stay under the budget however long the conversation runs."""

from __future__ import annotations

import json

from agent import budget
from agent.fakes import FunctionModel, call
from agent.llm import Message, Reply, ToolSpec
from agent.service import MAX_STORED_TURNS
from agent.state import load_or_create
from agent.toolkit import DATA_LABEL
from shop.db import Database
from tests.agent.conftest import MakeAgent
from tests.conftest import MERCHANT

QUERIES = ["warm sleeping bag", "tent for two", "hiking socks", "head lamp", "gas stove", "footprint"]
LONG_ANSWER = " ".join(["This one is a solid choice for cold nights and wet weather on the trail."] * 8)


def chatty_shopper_model() -> FunctionModel:
    """Each turn: two tool calls with big results, then a long answer."""

    def reply(messages: list[Message], _tools: list[ToolSpec]) -> Reply:
        last = messages[-1]
        if last.role == "user":
            query = QUERIES[len(messages) % len(QUERIES)]
            return Reply(
                tool_calls=[
                    call("search_products", query=query, limit=10),
                    call("get_product", sku="TENT-ALP2-GRN"),
                ]
            )
        return Reply(text=LONG_ANSWER)

    return FunctionModel(reply)


def test_sixty_turns_stay_under_the_prompt_budget(make_agent: MakeAgent, db: Database) -> None:
    model = chatty_shopper_model()
    agent = make_agent(model=model, prompt_token_budget=3000)
    session = None
    for turn in range(60):
        message = (
            f"Turn {turn}: I am looking for gear for a long hike in the rain, what would you suggest now?"
        )
        result = agent.turn(MERCHANT, session, message)
        session = result.session_id
        assert result.reply == LONG_ANSWER
        assert max(result.prompt_tokens) <= 3000
    counted = [budget.count_prompt(sent.messages, sent.tools) for sent in model.sent]
    assert len(counted) == 120 and max(counted) <= 3000
    assert counted[-1] > 2000  # the budget is used, not starved
    last_prompt = model.sent[-1].messages
    current = [m for m in last_prompt if m.role == "user"][-1]
    assert (
        current.content.startswith("Turn 59:") and last_prompt[-1].role == "tool"
    )  # the current turn is whole
    assert "Earlier in this conversation" in last_prompt[0].content
    assert "Shopper: Turn 0:" not in last_prompt[0].content or "Turn 58:" not in last_prompt[0].content
    record = load_or_create(db, MERCHANT, session or "")
    assert len(budget.split_turns(record.messages)) == MAX_STORED_TURNS
    assert record.state.summary.count("Shopper:") >= 1
    assert record.state.usage.prompt_tokens > 0


def test_a_huge_current_turn_is_compacted_to_fit() -> None:
    system = Message("system", "You are a shop assistant.")
    big = {
        "results": [{"sku": f"SKU-{i}", "price": "19.90", "description": "word " * 400} for i in range(10)]
    }
    history = [
        Message("user", "show me everything"),
        Message("assistant", "", [call("search_products", query="everything")]),
        Message("tool", DATA_LABEL + "\n" + json.dumps(big), tool_call_id="c1", name="search_products"),
    ]
    assert budget.count_prompt([system, *history], []) > 3000
    fitted = budget.fit(system, history, [], 1000)
    assert budget.count_prompt(fitted, []) <= 1000
    tool = fitted[-1]
    assert tool.role == "tool" and tool.content.startswith(DATA_LABEL)
    data = json.loads(tool.content.removeprefix(DATA_LABEL + "\n"))
    assert len(data["results"]) == 6 and data["results"][-1] == "(+5 more)"
    assert data["results"][0]["price"] == "19.90" and len(data["results"][0]["description"]) <= 241
    tighter = budget.fit(system, history, [], 500)
    assert budget.count_prompt(tighter, []) <= 500
    gist = json.loads(tighter[-1].content.removeprefix(DATA_LABEL + "\n"))
    assert gist["results"][0] == {"sku": "SKU-0", "price": "19.90"}  # prices survive compaction whole


def test_turns_keep_tool_calls_with_their_results() -> None:
    history = [
        Message("user", "a"),
        Message("assistant", "", [call("view_cart")]),
        Message("tool", "{}", tool_call_id="x"),
        Message("assistant", "done"),
        Message("user", "b"),
        Message("assistant", "ok"),
    ]
    assert [len(t) for t in budget.split_turns(history)] == [4, 2]


def test_the_summary_is_capped_and_keeps_the_newest_requests() -> None:
    turns = [[Message("user", f"request number {i} " + "detail " * 30)] for i in range(40)]
    summary = budget.summarize(turns)
    assert budget.count_text(summary) <= budget.SUMMARY_TOKENS
    assert "request number 39" in summary and "request number 0 " not in summary
