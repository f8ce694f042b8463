"""Model names resolve to adapters; bad names say what to write instead."""

from __future__ import annotations

import pytest

from agent.fakes import FunctionModel, ScriptedModel, call
from agent.langchain_model import LangChainModel
from agent.llm import Message, Reply, get_model, stream_by_completing
from shop.errors import ConfigError
from shop.settings import Settings


def test_fake_names_give_an_echo_model(settings: Settings) -> None:
    model = get_model("fake", settings)
    assert model.complete([Message("user", "hi")], []).text == "You said: hi"


@pytest.mark.parametrize("name", ["openai:", "langchain:openai", "gpt-4"])
def test_bad_model_names_are_config_errors(settings: Settings, name: str) -> None:
    with pytest.raises(ConfigError):
        get_model(name, settings)


def test_an_unknown_langchain_provider_is_a_config_error(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="langchain:no-such-provider:m"):
        get_model("langchain:no-such-provider:m", settings)


def test_a_langchain_openai_model_is_built_without_network(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = settings.model_copy(update={"openai_base_url": "http://127.0.0.1:9/v1"})
    monkeypatch.setenv("OPENAI_API_KEY", "sk-unused")
    model = get_model("langchain:openai:gpt-4o-mini", configured)
    assert isinstance(model, LangChainModel) and model.name == "langchain:openai:gpt-4o-mini"


def test_scripted_model_plays_its_script_and_records_prompts() -> None:
    model = ScriptedModel(["one", call("view_cart"), [call("a"), call("b")]])
    assert model.complete([Message("user", "x")], []).text == "one"
    assert model.complete([], []).tool_calls[0].name == "view_cart"
    assert [c.name for c in model.complete([], []).tool_calls] == ["a", "b"]
    assert len(model.sent) == 3 and model.sent[0].messages[0].content == "x"
    with pytest.raises(AssertionError, match="ran out"):
        model.complete([], [])


def test_streams_end_with_the_reply() -> None:
    model = FunctionModel(lambda _m, _t: Reply(text="two words"))
    items = list(model.stream([], []))
    assert items[:-1] == ["two ", "words"] and isinstance(items[-1], Reply)
    assert list(stream_by_completing(model, [], []))[0] == "two words"


def test_messages_round_trip_through_json() -> None:
    original = Message("assistant", "x", [call("get_product", sku="A")])
    assert Message.from_dict(original.to_dict()).tool_calls[0].arguments == {"sku": "A"}
