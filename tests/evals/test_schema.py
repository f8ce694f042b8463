"""Dialogue files: valid ones load, invalid ones are reported as PATH:LINE: key: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.schema import SuiteError, load_dialogue_file
from evals.suite import load_suite


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(SuiteError) as caught:
        load_dialogue_file(path, "d.yaml")
    return caught.value.problems


def test_the_design_example_loads(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "d.yaml",
        """id: returns-lt
lang: lt
turns:
  - user: "Kiek dienų turiu grąžinti prekę?"
    expect:
      tools: [search_policies]
      no_tools: [place_order]
      args: {search_products: {max_price: 50}}
      reply_matches: ["30"]
      reply_not_matches: ["100 dienų"]
      handoff: true
final:
  cart: {"SKU-1": 2}
  orders_placed: 1
  order_status: {"A1001": "cancelled"}
""",
    )
    (dialogue,) = load_dialogue_file(path)
    assert dialogue.id == "returns-lt" and dialogue.lang == "lt"
    assert dialogue.turns[0].expect.args == {"search_products": {"max_price": 50}}
    assert dialogue.final is not None and dialogue.final.cart == {"SKU-1": 2}


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "d.yaml",
        "id: x\nturns:\n  - user: hi\n    expect:\n      tools: [view_cart]\n      toolz: [search_policies]\n",
    )
    (problem,) = _problems(path)
    assert problem.startswith("d.yaml:6: turns.0.expect.toolz: unknown key")
    assert "no_tools" in problem  # the message lists what is allowed


def test_every_problem_is_reported_in_line_order(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "d.yaml",
        """id: bad
lang: Lithuanian
turns:
  - user: "hello"
    expect:
      reply_matches: ["(unclosed"]
      handoff: maybe
  - expect: {tools: [view_cart]}
final:
  cart: {SKU-1: 0}
  orders_placed: -1
  surprise: 1
""",
    )
    problems = _problems(path)
    assert [p.split(": ")[0] for p in problems] == [
        "d.yaml:2",
        "d.yaml:6",
        "d.yaml:7",
        "d.yaml:8",
        "d.yaml:10",
        "d.yaml:11",
        "d.yaml:12",
    ]
    keys = [p.split(": ")[1] for p in problems]
    assert keys == [
        "lang",
        "turns.0.expect.reply_matches",
        "turns.0.expect.handoff",
        "turns.1.user",
        "final.cart",
        "final.orders_placed",
        "final.surprise",
    ]
    assert "required key is missing" in problems[3]
    assert "not a valid regular expression" in problems[1]


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.yaml", "id: x\nturns:\n  - user: [unclosed\n  - user: b\n")
    (problem,) = _problems(path)
    assert problem.startswith("d.yaml:") and ": (yaml): " in problem
    assert "Traceback" not in problem


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.yaml", "id: x\nturns:\n  - user: a\nid: y\n")
    (problem,) = _problems(path)
    assert problem == "d.yaml:4: id: duplicate key"


def test_a_file_may_hold_a_list_of_dialogues(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "d.yaml", "- id: a\n  turns: [{user: hi}]\n- id: b\n  turns: [{user: yo}]\n  bogus: 1\n"
    )
    (problem,) = _problems(path)
    assert problem.startswith("d.yaml:5: 1.bogus: unknown key")
    _write(path, "- id: a\n  turns: [{user: hi}]\n---\nid: b\nturns: [{user: yo}]\n")
    assert [d.id for d in load_dialogue_file(path)] == ["a", "b"]


def test_non_mapping_and_empty_turns(tmp_path: Path) -> None:
    assert _problems(_write(tmp_path / "a.yaml", "just text\n")) == [
        "d.yaml:1: (file): a dialogue must be a mapping"
    ]
    (problem,) = _problems(_write(tmp_path / "b.yaml", "id: x\nturns: []\n"))
    assert problem.startswith("d.yaml:2: turns: ")


def test_suite_reports_problems_of_all_files_and_duplicate_ids(tmp_path: Path) -> None:
    root = tmp_path / "suite"
    (root / "store").mkdir(parents=True)
    _write(root / "dialogues" / "a.yaml", "id: same\nturns: [{user: hi}]\n")
    _write(root / "dialogues" / "b.yaml", "id: same\nturns: [{user: hi}]\n")
    _write(root / "dialogues" / "c.yaml", "id: c\nturns: [{user: hi, expect: {tool: [x]}}]\n")
    _write(
        root / "retrieval.jsonl",
        '{"query": "tent", "relevant": ["T1"], "lang": "en"}\n{"query": ""}\nnot json\n',
    )
    with pytest.raises(SuiteError) as caught:
        load_suite(root)
    text = "\n".join(caught.value.problems)
    assert "suite/dialogues/b.yaml:1: id: 'same' is already used in suite/dialogues/a.yaml" in text
    assert "suite/dialogues/c.yaml:2: turns.0.expect.tool: unknown key" in text
    assert "suite/retrieval.jsonl:2: query:" in text and "suite/retrieval.jsonl:2: relevant:" in text
    assert "suite/retrieval.jsonl:3: (json):" in text


def test_suite_without_store_or_dialogues(tmp_path: Path) -> None:
    with pytest.raises(SuiteError) as caught:
        load_suite(tmp_path / "missing")
    assert "not a suite folder" in caught.value.problems[0]
    (tmp_path / "empty").mkdir()
    with pytest.raises(SuiteError) as caught:
        load_suite(tmp_path / "empty")
    assert any("store/" in p for p in caught.value.problems)


def test_bundled_demo_suite_is_valid() -> None:
    suite = load_suite(Path(__file__).resolve().parents[2] / "evals" / "suites" / "demo")
    langs = {d.lang for d in suite.dialogues if d.lang}
    assert len(suite.dialogues) >= 60
    assert {"en", "lt", "tr", "ar", "zh"} <= langs
    assert suite.store.resolve().name == "demo_store"
