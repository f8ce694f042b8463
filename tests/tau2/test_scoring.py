"""A scripted agent replaying a task's reference actions, confirmations included, scores 1;
a wrong action, a skipped confirmation or an unsaid fact scores 0."""

import pytest

from agent.fakes import FunctionModel, call
from agent.llm import Reply
from evals.tau2.runner import Runner, tau2_settings
from shop.settings import Settings
from tests.tau2.scripted import DONE, reference_agent, scripted_customer


@pytest.fixture
def runner_for(tau2_store, tasks, tmp_path):
    def make(agent, customer=None, max_turns=12):
        settings = tau2_settings(Settings(home=tmp_path, max_steps=40), tmp_path / "home")
        return Runner(tau2_store, settings, agent, customer or scripted_customer(tasks), max_turns=max_turns)

    return make


@pytest.mark.parametrize("task_id", ["0", "5", "16", "20", "40", "44", "64", "105"])
def test_reference_actions_with_confirmations_score_one(runner_for, tasks, task_id):
    trial = runner_for(reference_agent(tasks)).run_trial(tasks[task_id], 0)
    assert trial.ending == "user_stop"
    assert trial.result.passed, [(c.check, c.reason) for c in trial.result.failures]
    names = [c.name for t in trial.result.turns for c in t.tool_calls]
    assert names == [
        c.name for t in trial.result.turns for c in t.tool_calls if c.name
    ]  # every call recorded
    assert len(names) == len(tasks[task_id].actions) + sum(
        1 for n, _ in tasks[task_id].actions if n.startswith(("cancel", "modify", "return", "exchange"))
    )


def test_a_wrong_action_scores_zero(runner_for, tasks):
    def wrong_item(task):
        return [
            (n, dict(a, item_ids=["1615379700"]) if n == "return_delivered_order_items" else a)
            for n, a in task.actions
        ]

    trial = runner_for(reference_agent(tasks, edit=wrong_item)).run_trial(tasks["5"], 0)
    assert not trial.result.passed
    db = next(c for c in trial.result.failures if c.check == "db")
    assert "return_items" in db.reason and "8538875209" in db.reason


def test_an_extra_write_scores_zero(runner_for, tasks):
    address = {
        "address1": "1 Oak St",
        "address2": "",
        "city": "Austin",
        "state": "TX",
        "country": "USA",
        "zip": "73301",
    }

    def and_move_house(task):
        return [*task.actions, ("modify_user_address", {"user_id": "aarav_anderson_8794", **address})]

    trial = runner_for(reference_agent(tasks, edit=and_move_house)).run_trial(tasks["44"], 0)
    assert [c.check for c in trial.result.failures] == ["db"]
    assert "/users/aarav_anderson_8794/address" in trial.result.failures[0].reason


def test_skipping_the_confirmation_scores_zero(runner_for, tasks):
    trial = runner_for(reference_agent(tasks, confirm=False)).run_trial(tasks["5"], 0)
    assert trial.ending == "user_stop"
    assert [c.check for c in trial.result.failures] == ["db"]
    calls = [c for t in trial.result.turns for c in t.tool_calls if c.name == "return_delivered_order_items"]
    assert calls and all(c.result["status"] == "needs_confirmation" for c in calls)


def test_repeating_the_write_in_the_same_turn_is_no_confirmation(runner_for, tasks):
    task = tasks["5"]
    steps: list[Reply | str] = [Reply(tool_calls=[call(n, **a)]) for n, a in task.actions]
    steps += [steps[-1], steps[-1], f"{DONE} Your return is on its way."]
    agent = FunctionModel(lambda messages, _tools: steps[sum(1 for m in messages if m.role == "assistant")])
    trial = runner_for(agent).run_trial(task, 0)
    assert [c.check for c in trial.result.failures] == ["db"]
    returns = [
        c.result for t in trial.result.turns for c in t.tool_calls if c.name == "return_delivered_order_items"
    ]
    assert [r["status"] for r in returns] == ["needs_confirmation"] * 3


def test_facts_not_told_fail_the_communicate_check(runner_for, tasks):
    agent = reference_agent(tasks)
    silent = FunctionModel(
        lambda messages, tools: _strip_facts(agent.function(messages, tools), tasks["16"].communicate_info),
        name="silent",
    )
    trial = runner_for(silent).run_trial(tasks["16"], 0)
    assert [(c.check, c.reason) for c in trial.result.failures] == [
        ("communicate", "never told the customer '8276.23'")
    ]


def _strip_facts(step, facts):
    if isinstance(step, str):
        for fact in facts:
            step = step.replace(fact, "")
    return step


def test_a_conversation_that_never_ends_fails(runner_for, tasks):
    chatty = FunctionModel(
        lambda messages, tools: "Hello, this is about task 5." if len(messages) == 2 else "Hmm."
    )
    trial = runner_for(reference_agent(tasks), customer=chatty, max_turns=3).run_trial(tasks["5"], 0)
    assert trial.ending == "max_turns"
    assert "ended" in [c.check for c in trial.result.failures]
