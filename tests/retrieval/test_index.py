"""The large-catalog path: k-means cells, probing, masks (tested on synthetic vectors)."""

import numpy as np

from agent.retrieval_index import Codes, matching_codes, train_quantiser


def test_quantiser_probe_finds_the_exact_nearest_neighbours():
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(40, 32))
    matrix = (centers[rng.integers(0, 40, 5000)] + 0.3 * rng.normal(size=(5000, 32))).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    quantiser, order = train_quantiser(matrix)
    grouped = matrix[order]
    assert sorted(order.tolist()) == list(range(5000))
    query = grouped[123] + 0.05 * rng.normal(size=32).astype(np.float32)
    exact = set(np.argsort(-(grouped @ query))[:10].tolist())
    rows = np.concatenate(
        [np.arange(quantiser.starts[c], quantiser.starts[c + 1]) for c in quantiser.cells_for(query, 12)]
    )
    found = set(rows[np.argsort(-(grouped[rows] @ query))[:10]].tolist())
    assert len(exact & found) >= 9


def test_codes_mask_matches_words_case_insensitively():
    codes = Codes(["Forest Green", "green", "Signal Orange", "", "Sleeping Bags"])
    assert codes.mask("GREEN").tolist() == [True, True, False, False, False]
    assert codes.mask("sleeping bag").tolist() == [False, False, False, False, True]
    assert matching_codes(codes.vocabulary, "purple") == []
