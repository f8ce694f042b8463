import numpy as np
import pytest

from shop.embedders import FusedEmbedder, HashEmbedder, get_embedder, resolve_name
from shop.errors import ConfigError


def test_hash_embedder_is_deterministic_and_normalized():
    embedder = HashEmbedder()
    docs = embedder.embed_documents(["warm sleeping bag", "gas stove"])
    assert docs.dtype == np.float32 and docs.shape == (2, embedder.dim)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0)
    assert np.allclose(embedder.embed_query("warm sleeping bag"), docs[0])
    assert (
        embedder.embed_query("warm sleeping bags") @ docs[0]
        > embedder.embed_query("warm sleeping bags") @ docs[1]
    )


def test_fused_cosine_is_the_weighted_sum_of_the_parts():
    a, b = HashEmbedder(dim=64), HashEmbedder(dim=128)
    fused = FusedEmbedder([(a, 0.3), (b, 0.7)], "a+b")
    q, d = fused.embed_query("rain jacket"), fused.embed_documents(["waterproof jacket"])[0]
    expected = 0.3 * (a.embed_query("rain jacket") @ a.embed_documents(["waterproof jacket"])[0]) + 0.7 * (
        b.embed_query("rain jacket") @ b.embed_documents(["waterproof jacket"])[0]
    )
    assert fused.dim == 192 and np.isclose(q @ d, expected, atol=1e-5)
    assert np.isclose(np.linalg.norm(q), 1.0, atol=1e-5)


def test_names_resolve_and_embedders_are_cached():
    assert resolve_name("multilingual") == resolve_name("default")
    assert get_embedder("hash") is get_embedder("hash")
    combo = get_embedder("hash:1+hash:3")
    assert combo.dim == 2 * get_embedder("hash").dim


def test_bad_names_fail_with_a_fix(monkeypatch, tmp_path):
    with pytest.raises(ConfigError, match="weight"):
        get_embedder("hash:heavy+hash")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="SHOPAGENT_EMBEDDER"):
        get_embedder(str(tmp_path / "no-such-model")).embed_query("x")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "queries"),
    [
        (
            "e5",
            ["šiltas miegmaišis žiemai", "kış için sıcak uyku tulumu", "冬季保暖睡袋", "كيس نوم دافئ للشتاء"],
        ),
        # USE is weak in Lithuanian (see BENCHMARKS.md), which is why the default fuses it with e5.
        ("use", ["kış için sıcak uyku tulumu", "冬季保暖睡袋", "كيس نوم دافئ للشتاء"]),
    ],
)
def test_multilingual_embedders_match_across_languages(name, queries):
    embedder = get_embedder(name)
    docs = embedder.embed_documents(["Warm winter sleeping bag", "Gas canister stove for cooking"])
    for query in queries:
        scores = docs @ embedder.embed_query(query)
        assert scores[0] > scores[1], query
