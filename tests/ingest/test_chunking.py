from ingest.chunking import chunk_document, count_tokens
from ingest.records import DocumentRecord


def doc(text: str, doc_id: str = "doc:returns", title: str = "Returns") -> DocumentRecord:
    return DocumentRecord(doc_id=doc_id, title=title, lang="en", text=text)


def test_chunks_follow_headings_and_keep_the_path():
    text = "# Returns\n\nIntro line.\n\n## Window\n\n45 days.\n\n### Exceptions\n\nGift cards.\n\n## Refunds\n\n7 days.\n"
    chunks = chunk_document(doc(text))
    assert [(c.chunk_id, c.heading_path, c.text) for c in chunks] == [
        ("doc:returns#0", "", "Intro line."),
        ("doc:returns#1", "Window", "45 days."),
        ("doc:returns#2", "Window > Exceptions", "Gift cards."),
        ("doc:returns#3", "Refunds", "7 days."),
    ]
    assert [c.source_line for c in chunks] == [3, 7, 11, 15]


def test_long_sections_are_split_within_the_token_budget():
    sentences = " ".join(
        f"Sentence number {i} explains one more rule about parcels and lockers." for i in range(120)
    )
    chunks = chunk_document(
        doc(f"# Shipping\n\n## Rules\n\n{sentences}\n", "doc:shipping", "Shipping"),
        max_tokens=100,
        overlap=10,
    )
    assert len(chunks) > 5
    assert all(count_tokens(c.text) <= 100 for c in chunks)
    assert all(c.heading_path == "Rules" for c in chunks)
    assert "Sentence number 119" in chunks[-1].text


def test_token_counter_works_offline():
    assert count_tokens("hello world") == 2
