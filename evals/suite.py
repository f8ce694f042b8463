"""Loading a suite folder: ``store/``, ``dialogues/*.yaml`` and an optional ``retrieval.jsonl``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evals.schema import Dialogue, SuiteError, load_dialogue_file


class RetrievalQuery(BaseModel):
    """One line of ``retrieval.jsonl``: a query and the ids a good search returns."""

    model_config = ConfigDict(extra="allow", frozen=True)

    query: str = Field(min_length=1)
    relevant: list[str] = Field(min_length=1)
    """Product SKUs (or parent ids) and documents as ``doc:NAME``."""
    lang: str = ""


@dataclass(frozen=True)
class Suite:
    root: Path
    store: Path
    dialogues: list[Dialogue]
    queries: list[RetrievalQuery] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.root.name


def _dialogue_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_queries(path: Path, display: str) -> list[RetrievalQuery]:
    problems: list[str] = []
    queries: list[RetrievalQuery] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data: Any = json.loads(line)
            queries.append(RetrievalQuery.model_validate(data))
        except json.JSONDecodeError as exc:
            problems.append(f"{display}:{number}: (json): {exc.msg}")
        except ValidationError as exc:
            for err in exc.errors():
                key = ".".join(str(p) for p in err["loc"]) or "(line)"
                problems.append(f"{display}:{number}: {key}: {err['msg']}")
    if problems:
        raise SuiteError(problems)
    return queries


def load_suite(root: Path) -> Suite:
    """Load and validate a whole suite; :class:`SuiteError` lists every problem found."""
    root = Path(root)
    if not root.is_dir():
        raise SuiteError([f"{root}: not a suite folder (expected store/, dialogues/ and retrieval.jsonl)"])
    store = root / "store"
    problems: list[str] = []
    if not store.exists():
        problems.append(f"{store}: missing: the suite's store/ folder is ingested before the run")
    dialogues: list[Dialogue] = []
    seen: dict[str, str] = {}
    for path in _dialogue_files(root / "dialogues"):
        shown = str(path.relative_to(root.parent)) if root.parent != path else str(path)
        try:
            loaded = load_dialogue_file(path, shown)
        except SuiteError as exc:
            problems.extend(exc.problems)
            continue
        for dialogue in loaded:
            if dialogue.id in seen:
                problems.append(f"{shown}:1: id: {dialogue.id!r} is already used in {seen[dialogue.id]}")
            seen[dialogue.id] = shown
            dialogues.append(dialogue)
    queries: list[RetrievalQuery] = []
    retrieval = root / "retrieval.jsonl"
    if retrieval.exists():
        try:
            queries = load_queries(retrieval, str(retrieval.relative_to(root.parent)))
        except SuiteError as exc:
            problems.extend(exc.problems)
    if not dialogues and not queries and not problems:
        problems.append(f"{root}: no dialogues (dialogues/*.yaml) and no retrieval.jsonl: nothing to run")
    if problems:
        raise SuiteError(problems)
    return Suite(root=root, store=store, dialogues=dialogues, queries=queries)
