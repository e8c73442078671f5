from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsdigest.dedup import (
    NewDocument,
    assign_stories,
    canonical_url,
    estimated_jaccard,
    minhash,
    signature_from_bytes,
    signature_to_bytes,
    text_fingerprint,
)

BASE = "\n".join(
    [
        "The Harbor City council voted 7 to 2 on Tuesday to close the Old Mill bridge for eight months of repairs.",
        "Engineers found corrosion in two of the bridge's four steel girders during an inspection in March.",
        "The repairs will cost 14.2 million dollars, to be shared between the city and the regional transport fund.",
        "Buses will use the Quay Street crossing while the bridge is closed, adding about ten minutes to trips.",
        "Council member Rosa Elling said the closure was painful but that the inspection left no other choice.",
        "Shop owners near the bridge asked the council for a grant to cover lost trade during the works.",
    ]
)
OTHER = "\n".join(
    [
        "Lakeside's public library reopened on Monday after a two-year renovation that added a children's wing.",
        "The building now has solar panels on its roof and a reading garden facing the lake.",
        "Head librarian Tomas Reyes said more than 3,000 people visited on the first day.",
        "The renovation was paid for by a bond approved by voters in 2022.",
    ]
)
REWRITE = "\n".join(
    [
        "Harbor City will shut the Old Mill bridge for eight months after councillors backed repairs on Tuesday.",
        "An inspection in March revealed corroded girders, according to city engineers.",
        "The 14.2 million dollar bill will be split with the regional transport fund, the council said.",
        "Rosa Elling, a council member, called the decision painful but unavoidable.",
    ]
)


def test_canonical_url_drops_tracking_fragment_port_and_case() -> None:
    plain = "https://news.example/world/a.html"
    assert canonical_url("HTTPS://News.Example:443/world/a.html?utm_source=x&utm_medium=email#comments") == plain
    assert canonical_url("https://www.news.example/world/a.html?fbclid=1") == plain
    assert canonical_url("https://news.example/a?id=2&b=1&gclid=z") == "https://news.example/a?b=1&id=2"
    assert canonical_url("https://news.example/a/") == "https://news.example/a"
    assert canonical_url(None) is None


def test_fingerprint_ignores_case_spacing_and_punctuation() -> None:
    assert text_fingerprint("Hello,  World!\nAgain.") == text_fingerprint("hello world again")
    assert text_fingerprint("hello world") != text_fingerprint("hello there world")


def test_signatures_round_trip_and_estimate_similarity() -> None:
    signature = minhash(BASE)
    assert signature_from_bytes(signature_to_bytes(signature)) == signature
    assert estimated_jaccard(signature, minhash(BASE)) == 1.0
    assert estimated_jaccard(signature, minhash(OTHER)) < 0.1


def test_exact_copy_near_copy_and_independent_report() -> None:
    extra = BASE + "\nUpdate: the council later said the bridge will reopen to pedestrians in June."
    docs = [
        NewDocument("a", "Council closes Old Mill bridge", BASE),
        NewDocument("b", "Old Mill bridge to close (syndicated)", BASE.replace("\n", "\n\n")),
        NewDocument("c", "Council closes Old Mill bridge", extra),
        NewDocument("d", "Old Mill bridge shut for eight months", REWRITE),
        NewDocument("e", "Library reopens", OTHER),
    ]
    a, b, c, d, e = assign_stories(docs, [])
    assert a.duplicate_of is None
    assert b.duplicate_of == "a" and c.duplicate_of == "a"
    assert d.duplicate_of is None and d.story_id == a.story_id, "an independent report joins the story"
    assert e.duplicate_of is None and e.story_id != a.story_id


def test_story_ids_are_stable_across_days() -> None:
    (first,) = assign_stories([NewDocument("a", "Council closes Old Mill bridge", BASE)], [])
    (later,) = assign_stories([NewDocument("d", "Old Mill bridge shut", REWRITE)], [first])
    assert later.story_id == first.story_id and later.duplicate_of is None


def test_generic_titles_do_not_merge_different_stories() -> None:
    docs = [NewDocument("a", "Live updates", BASE), NewDocument("b", "Live updates", OTHER)]
    a, b = assign_stories(docs, [])
    assert a.story_id != b.story_id and b.duplicate_of is None


def test_degenerate_texts_do_not_crash_or_merge() -> None:
    docs = [
        NewDocument("a", "", ""),
        NewDocument("b", "One", "word"),
        NewDocument("c", "Big", "lorem ipsum dolor " * 200_000),
        NewDocument("d", "Кириллица", "Мэр города заявил, что мост закроют на восемь месяцев."),
        NewDocument("e", "", ""),
    ]
    records = assign_stories(docs, [])
    assert len(records) == 5
    assert records[1].story_id != records[0].story_id
    assert records[3].duplicate_of is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=6))
def test_assignment_is_idempotent(texts: list[str]) -> None:
    docs = [NewDocument(str(i), f"t{i}", text) for i, text in enumerate(texts)]
    assert assign_stories(docs, []) == assign_stories(docs, [])
