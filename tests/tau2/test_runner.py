"""The runner end to end, as ``shopagent eval --tau2`` runs it, with scripted agent and customer."""

import json
import os

import pytest
from typer.testing import CliRunner

from agent.fakes import FunctionModel
from cli import app
from evals.tau2 import cli as tau2_cli
from evals.tau2.cli import run_tau2
from evals.tau2.report import build_report, write_report
from evals.tau2.runner import Runner, run, tau2_settings
from evals.tau2.tasks import select
from shop.errors import ConfigError
from shop.settings import Settings
from tests.tau2.scripted import reference_agent, scripted_customer


def flaky_agent(tasks):
    """Skips the confirmation in its first conversation, does everything right afterwards."""
    careless, careful = reference_agent(tasks, confirm=False), reference_agent(tasks)
    seen: list[str] = []

    def reply(messages, tools):
        opening = next(m.content for m in messages if m.role == "user")
        if not any(m.role == "assistant" for m in messages):
            seen.append(opening)
        return (careless if len(seen) == 1 else careful).function(messages, tools)

    return FunctionModel(reply, name="flaky")


def test_report_has_the_fixed_keys_and_pass_hat_k(tau2_store, tasks, tmp_path):
    settings = tau2_settings(Settings(home=tmp_path, max_steps=40), tmp_path / "home")
    runner = Runner(tau2_store, settings, flaky_agent(tasks), scripted_customer(tasks))
    data = build_report(run([tasks["5"], tasks["40"]], runner, trials=2), "5,40")
    path = tmp_path / "report.json"
    write_report(data, path)
    assert json.loads(path.read_text()) == json.loads(json.dumps(data, default=str))
    assert data["model"] == "flaky" and data["user_model"] == "scripted-customer"
    dialogues = data["dialogues"]
    assert (dialogues["total"], dialogues["k"], dialogues["trials"]) == (2, 2, 4)
    first, second = dialogues["results"]
    assert first["id"] == "5" and [t["passed"] for t in first["trials"]] == [False, True]
    assert (first["pass^1"], first["pass^k"]) == (0.5, 0.0)
    assert [t["passed"] for t in second["trials"]] == [True, True] and second["pass^k"] == 1.0
    assert (dialogues["pass^1"], dialogues["pass^k"]) == (0.75, 0.5)
    failed = first["trials"][0]
    assert failed["failures"][0]["check"] == "db" and failed["ending"] == "user_stop"
    for trial in first["trials"] + second["trials"]:
        assert set(trial) >= {"passed", "failures", "tokens", "latency_s"}
        assert trial["tokens"]["prompt"] > 0 and trial["latency_s"] > 0
    assert data["tokens"]["prompt"] == sum(
        t["tokens"]["prompt"] for r in dialogues["results"] for t in r["trials"]
    )
    assert data["store"] == {"products": 50, "variants": 591, "customers": 500, "orders": 1000, "rejected": 0}
    assert data["reference"]["published_pass^1"]["gpt-4o"] == 0.60


def test_shopagent_eval_tau2_command(tau2_dir, tasks, tmp_path, monkeypatch):
    models = {"scripted-agent": reference_agent(tasks), "scripted-customer": scripted_customer(tasks)}
    monkeypatch.setattr(tau2_cli, "get_model", lambda name, _settings: models[name])
    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHOPAGENT_MAX_STEPS", "40")
    report = tmp_path / "r.json"
    args = ["eval", "--tau2", str(tau2_dir / "db.json"), "--tasks", "43", "--model", "scripted-agent"]
    result = CliRunner().invoke(app, [*args, "--user-model", "scripted-customer", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "task 43 trial 1: pass" in result.output and "pass^1 1.000" in result.output
    assert "published pass^1: gpt-4o 0.60" in result.output
    assert json.loads(report.read_text())["dialogues"]["pass^1"] == 1.0


def test_task_selection(tasks, tau2_dir):
    splits = {"test": ["5", "9"], "train": ["0"]}
    everything = list(tasks.values())
    assert [t.id for t in select(everything, "test", splits)] == ["5", "9"]
    assert len(select(everything, "all", splits)) == 114
    assert [t.id for t in select(everything, " 12, 3 ", splits)] == ["12", "3"]
    with pytest.raises(ConfigError, match="unknown task ids"):
        select(everything, "999", splits)


@pytest.mark.local_llm
@pytest.mark.timeout(3600)
def test_against_a_local_openai_compatible_server(tau2_dir, tmp_path):
    """Opt-in: OPENAI_BASE_URL points at a local server (see docs/tau2.md). Runs one task."""
    if not os.environ.get("OPENAI_BASE_URL"):
        pytest.skip("set OPENAI_BASE_URL (e.g. ../shared/llm/local-llm.sh start) to run this")
    model = "openai:" + os.environ.get("OPENAI_MODEL", "qwen2.5-coder-1.5b-instruct")
    data = run_tau2(
        tau2_dir, "5", model, model, 1, tmp_path / "r.json", max_turns=8, settings=Settings(home=tmp_path)
    )
    trial = data["dialogues"]["results"][0]["trials"][0]
    assert trial["tokens"]["prompt"] > 0 and trial["turns"], trial
    assert data["dialogues"]["total"] == 1
