from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsdigest.models import NewDocument
from newsdigest.store import signature_from_bytes, signature_to_bytes
from newsdigest.stories.assign import StoryAssigner, assign_stories
from newsdigest.stories.grouping import StoryIndex, story_terms
from newsdigest.stories.nearcopy import NUM_PERM, estimated_jaccard, minhash, shingle_hashes, text_fingerprint
from newsdigest.stories.urls import canonical_url
from tests.conftest import ROOT

CNN_CORPUS = ROOT.parent / "shared" / "data" / "summarization-dev" / "cnn_corpus.jsonl.gz"

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


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.sampled_from([BASE, REWRITE, OTHER, BASE + " Extra words at the end.", ""]), max_size=8),
    st.integers(min_value=1, max_value=4),
)
def test_assigning_in_chunks_equals_one_assignment(texts: list[str], chunk: int) -> None:
    # The flow hands articles over a chunk at a time as they are cleaned; stories must not depend on that.
    docs = [NewDocument(str(i), f"t{i}", text) for i, text in enumerate(texts)]
    assigner = StoryAssigner([])
    chunked = [
        record for start in range(0, len(docs), chunk) for record in assigner.assign(docs[start : start + chunk])
    ]
    assert chunked == assign_stories(docs, [])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=6))
def test_assignment_is_idempotent(texts: list[str]) -> None:
    docs = [NewDocument(str(i), f"t{i}", text) for i, text in enumerate(texts)]
    assert assign_stories(docs, []) == assign_stories(docs, [])


# --- signatures: stable, accurate --------------------------------------------------------------------


def test_signatures_do_not_depend_on_the_process_hash_seed() -> None:
    # Signatures are stored and compared across days: no per-process salted hashing may leak into them.
    code = "import sys; from newsdigest.stories.nearcopy import minhash; print(list(minhash(sys.stdin.read())))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], input=BASE, capture_output=True, text=True, env=env, check=True)
    assert tuple(json.loads(out.stdout)) == minhash(BASE)
    assert len(minhash(BASE)) == NUM_PERM and all(isinstance(value, int) for value in minhash(BASE))


def test_signature_values_are_pinned() -> None:
    # Stored signatures must keep comparing with new ones: if this fails (a new Python changed how tuples
    # hash, say), signatures in existing stores no longer match and need recomputing.
    text = "The Harbor City council voted 7 to 2 on Tuesday to close the Old Mill bridge for eight months of repairs."
    assert minhash(text)[:6] == (266175, 24272683, 898284233, 1019020267, 1019020267, 665412330)
    assert minhash("short text") == (64899710,) * NUM_PERM


def test_estimated_jaccard_tracks_the_exact_jaccard() -> None:
    rng = random.Random(7)
    vocabulary = [f"w{i}" for i in range(3000)]
    errors = []
    for _ in range(60):
        tokens = [rng.choice(vocabulary) for _ in range(rng.randint(80, 600))]
        cut = rng.randint(len(tokens) // 3, len(tokens))
        other = tokens[:cut] + [rng.choice(vocabulary) for _ in range(rng.randint(0, 60))]
        left, right = " ".join(tokens), " ".join(other)
        a, b = shingle_hashes(left), shingle_hashes(right)
        errors.append(estimated_jaccard(minhash(left), minhash(right)) - len(a & b) / len(a | b))
    assert abs(sum(errors) / len(errors)) < 0.03  # unbiased
    assert max(abs(e) for e in errors) < 0.25  # 64 slots: standard error <= 0.0625


def test_worker_processes_give_the_same_records() -> None:
    docs = [NewDocument(str(i), f"Title {i}", text) for i, text in enumerate([BASE, OTHER, REWRITE, BASE + " More."])]
    assert assign_stories(docs, [], workers=2) == assign_stories(docs, [])


def test_story_index_scores_tf_idf_cosines_and_finds_the_story() -> None:
    index = StoryIndex()
    index.add("a", story_terms("Council closes Old Mill bridge", BASE), "s1")
    index.add("b", story_terms("Library reopens", OTHER), "s2")
    terms = story_terms("Old Mill bridge shut", REWRITE)
    assert index.similarity(terms, terms) == pytest.approx(1.0)
    assert index.similarity(terms, index.documents["a"]) > index.similarity(terms, index.documents["b"])
    found = index.best_story(terms, 0.22)
    assert found is not None and found[0] == "s1"


# --- bad input ---------------------------------------------------------------------------------------

RUSSIAN = (
    "Городской совет Нижнереченска в понедельник проголосовал за закрытие старого моста на ремонт. "
    "Работы продлятся пять месяцев и обойдутся в три миллиона рублей, сообщил мэр Игорь Савельев. "
    "Автобусы пустят в объезд через Заречную улицу, поездки станут дольше примерно на десять минут."
)
RUSSIAN_OTHER = (
    "В областной библиотеке Нижнереченска открылась выставка старинных карт из частной коллекции. "
    "Экспозиция будет работать до конца лета, вход свободный, рассказала директор Анна Круглова."
)
CHINESE = "本市议会周一投票决定关闭老桥进行维修，工程预计持续五个月，费用约为三百万元。市长表示，公交车将改道行驶。"
CHINESE_OTHER = "市图书馆周六举办古地图展览，展品来自一位私人收藏家，展览将持续到夏末，免费入场。"
ARABIC = (
    "صوت مجلس المدينة يوم الاثنين على إغلاق الجسر القديم لمدة خمسة أشهر من أجل الإصلاحات. "
    "وقال رئيس البلدية إن الحافلات ستسلك طريقا بديلا خلال فترة الأشغال."
)
ARABIC_OTHER = "افتتحت المكتبة العامة معرضا للخرائط القديمة يستمر حتى نهاية الصيف والدخول مجاني."


def test_empty_and_one_word_texts_neither_crash_nor_merge() -> None:
    docs = [
        NewDocument("a", "", ""),
        NewDocument("b", "", "   \n\t "),
        NewDocument("c", "One", "word"),
        NewDocument("d", "Other", "different"),
        NewDocument("e", "", "!!! ... ???"),
    ]
    records = assign_stories(docs, [])
    assert [r.duplicate_of for r in records] == [None] * 5
    assert len({r.story_id for r in records}) == 5
    assert minhash("") == minhash("  ") and len(minhash("")) == NUM_PERM


def test_non_latin_scripts_neither_crash_nor_merge_different_stories() -> None:
    texts = [RUSSIAN, RUSSIAN_OTHER, CHINESE, CHINESE_OTHER, ARABIC, ARABIC_OTHER]
    docs = [NewDocument(str(i), text.split()[0], text) for i, text in enumerate(texts)]
    docs.append(NewDocument("copy", "Копия", RUSSIAN.replace(". ", ".\n\n")))
    records = assign_stories(docs, [])
    assert [r.duplicate_of for r in records[:6]] == [None] * 6
    assert len({r.story_id for r in records[:6]}) == 6
    assert records[6].duplicate_of == "0" and records[6].story_id == records[0].story_id
    assert estimated_jaccard(minhash(RUSSIAN), minhash(RUSSIAN_OTHER)) < 0.2


@pytest.mark.parametrize("kind", ["repetitive", "varied"])
def test_five_megabyte_text_is_handled_in_bounded_time(kind: str) -> None:
    if kind == "repetitive":
        text = "lorem ipsum dolor " * 280_000
    else:
        rng = random.Random(3)
        vocabulary = [f"{rng.choice('bcdfghklmnprst')}{rng.choice('aeiou')}{i}" for i in range(50_000)]
        text = " ".join(rng.choice(vocabulary) for _ in range(800_000))
    assert len(text) >= 5_000_000
    start = time.thread_time()  # CPU time of this thread: the bound holds on a busy machine
    records = assign_stories([NewDocument("big", "Big", text), NewDocument("small", "Library reopens", OTHER)], [])
    assert time.thread_time() - start < 20.0  # about 1-2 s here
    assert records[1].duplicate_of is None and records[1].story_id != records[0].story_id


# --- the benchmark, end to end on a small corpus -------------------------------------------------------


def test_dedup_benchmark_end_to_end_on_a_small_cnn_corpus(tmp_path: Path) -> None:
    if not CNN_CORPUS.is_file():
        pytest.skip(f"the CNN corpus is not here ({CNN_CORPUS}): ../shared/data is absent")
    from benchmarks import dedup as bench

    corpus = tmp_path / "corpus.jsonl"
    assert bench.main(["--make-corpus", "300", "--out", str(corpus), "--source", str(CNN_CORPUS), "--seed", "1"]) == 0
    lines = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 300 and {"id", "url", "title", "text", "source", "published", "dup_of", "story"} <= set(
        lines[0]
    )
    assert [line["published"] for line in lines] == sorted(line["published"] for line in lines)
    scores = tmp_path / "scores.json"
    assert bench.main(["--corpus", str(corpus), "--method", "ours", "--json", str(scores), "--quiet"]) == 0
    result = json.loads(scores.read_text(encoding="utf-8"))
    assert result["documents"] == 300
    assert result["dup_precision"] >= 0.99 and result["dup_recall"] >= 0.95
    assert {"story_precision", "story_recall", "docs_per_second", "peak_rss_mb"} <= set(result)


def test_pair_scores_count_pairs_by_cluster() -> None:
    from benchmarks.dedup import pair_scores

    # predicted {1,2,3} {4}; gold {1,2} {3,4}: 3 predicted pairs, 2 gold pairs, 1 shared.
    assert pair_scores(["x", "x", "x", "y"], ["a", "a", "b", "b"]) == (1 / 3, 1 / 2)
    assert pair_scores(["x", "y"], ["a", "b"]) == (1.0, 1.0)
