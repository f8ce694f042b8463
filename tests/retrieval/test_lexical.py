from agent.retrieval_lexical import LexicalIndex, tokenize


def test_tokenize_folds_case_diacritics_and_stopwords():
    assert tokenize("Šilta ŽIEMINĖ striukė for the Winter") == ["silta", "ziemine", "striuke", "winter"]


def test_tokenize_indexes_chinese_as_bigrams():
    assert tokenize("防水登山鞋") == ["防水", "水登", "登山", "山鞋"]


def test_bm25_ranks_rare_matching_terms_first():
    index = LexicalIndex(["red tent", "blue tent", "red mug", "tent pegs for a tent"])
    rows, scores = index.search("red tent")
    ranked = [int(r) for r, _ in sorted(zip(rows, scores, strict=True), key=lambda x: -x[1])]
    assert ranked[0] == 0 and set(ranked) == {0, 1, 2, 3}


def test_bm25_unknown_terms_match_nothing():
    rows, scores = LexicalIndex(["red tent"]).search("kayak")
    assert len(rows) == 0 and len(scores) == 0
