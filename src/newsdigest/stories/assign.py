"""Assignment: new articles against what the store already knows, as copies or into stories."""

from __future__ import annotations

import multiprocessing
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice

from newsdigest.models import DedupRecord, NewDocument
from newsdigest.stories.grouping import StoryIndex, story_terms
from newsdigest.stories.nearcopy import NearDuplicateIndex, tokens_fingerprint, tokens_signature, words

_BATCH = 512  # articles per task when features are computed in worker processes


@dataclass(frozen=True)
class DocumentFeatures:
    """What deduplication computes from one article's words, before comparing it with anything."""

    fingerprint: str
    signature: tuple[int, ...]
    terms: dict[str, int]
    word_count: int


def document_features(document: NewDocument) -> DocumentFeatures:
    """Fingerprint, MinHash signature and story terms of one article (its text tokenised once)."""
    tokens = words(document.text)
    return DocumentFeatures(
        tokens_fingerprint(tokens),
        tokens_signature(tokens),
        dict(story_terms(document.title, document.text)),
        len(tokens),
    )


_PARAGRAPH = re.compile(r"\n\s*\n|\n")
LEAD_MIN_WORDS = 15  # a shorter first paragraph is a dateline, a byline or a boilerplate line, not a lead
NEW_LEAD_SHARE = 0.3  # of the lead's content words, absent from the earlier article (a follow-up reuses the rest)
NEW_LEAD_FACTS = 2  # names or figures of the lead absent from the earlier article
OLD_TEXT_SHARE = 0.7  # of the next paragraph's content words, found in the earlier article


def lead_paragraphs(text: str) -> list[str]:
    """The article's paragraphs of at least LEAD_MIN_WORDS words, in order (the first is its lead)."""
    return [paragraph for paragraph in _PARAGRAPH.split(text) if len(paragraph.split()) >= LEAD_MIN_WORDS]


def lead_paragraph(text: str) -> str:
    """The article's first paragraph of at least LEAD_MIN_WORDS words ("" when there is none)."""
    paragraphs = lead_paragraphs(text)
    return paragraphs[0] if paragraphs else ""


def _content(paragraph: str) -> list[str]:
    return [term for term in story_terms("", paragraph) if term[0] == "W"]


def new_lead(document: NewDocument, earlier: Mapping[str, int]) -> bool:
    """Whether the document opens with a paragraph the earlier article (its story terms) does not have.

    A good share of the lead's content words and at least two of its names or figures must be new: a re-written
    first paragraph ("Greece has repaid ...") over an old text, not a headline swap or a copy editor's fix. And
    the paragraph after it must be the earlier article's (most of its words in the earlier terms, which cover
    the earlier article's opening): a new lead over the old text, not a copy that starts further in.
    """
    paragraphs = lead_paragraphs(document.text)
    if len(paragraphs) < 2:
        return False
    terms = story_terms("", paragraphs[0])
    content = [term for term in terms if term[0] == "W"]
    facts = [term for term in terms if term[0] in "EN" and term not in earlier]
    if not content or len(facts) < NEW_LEAD_FACTS:
        return False
    if sum(term not in earlier for term in content) < NEW_LEAD_SHARE * len(content):
        return False
    following = _content(paragraphs[1])
    return bool(following) and sum(term in earlier for term in following) >= OLD_TEXT_SHARE * len(following)


def _features_of_batch(batch: list[NewDocument]) -> list[DocumentFeatures]:
    return [document_features(document) for document in batch]


def _features(documents: Iterable[NewDocument], workers: int) -> Iterator[tuple[NewDocument, DocumentFeatures]]:
    """Each document with its features, computed here or, with workers > 1, in that many processes.

    Batches go to the pool one ahead of the caller, so the caller's comparisons overlap the next batch's
    feature work, and at most two batches of texts are held at a time.
    """
    if workers <= 1:
        for document in documents:
            yield document, document_features(document)
        return
    # spawn: the caller may run threads (Prefect does); a forked copy of a threaded process can deadlock.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        iterator = iter(documents)

        def submit() -> tuple[list[NewDocument], list[Future[list[DocumentFeatures]]]] | None:
            batch = list(islice(iterator, _BATCH * workers))
            if not batch:
                return None
            parts = [batch[i : i + _BATCH] for i in range(0, len(batch), _BATCH)]
            return batch, [pool.submit(_features_of_batch, part) for part in parts]

        pending = submit()
        while pending is not None:
            batch, futures = pending
            pending = submit()
            intern = sys.intern
            for document, features in zip(batch, (item for future in futures for item in future.result()), strict=True):
                # Unpickled term strings are fresh copies: interned, the index keeps one of each and compares
                # them by identity.
                terms = {intern(term): count for term, count in features.terms.items()}
                yield document, DocumentFeatures(features.fingerprint, features.signature, terms, features.word_count)


class StoryAssigner:
    """Deduplication that remembers: history loaded once, new articles assigned a chunk at a time.

    A run can hand its articles over as they are cleaned and let go of their text, instead of holding
    every article until one big assignment; the result is the same as one call with all of them in order.
    """

    def __init__(
        self, known: Sequence[DedupRecord], near_duplicate_threshold: float = 0.7, story_threshold: float = 0.22
    ) -> None:
        self.near_duplicate_threshold = near_duplicate_threshold
        self.story_threshold = story_threshold
        self._by_fingerprint: dict[str, DedupRecord] = {}
        self._near = NearDuplicateIndex()
        self._stories = StoryIndex()
        self._records: dict[str, DedupRecord] = {}
        for record in known:
            self._remember(record)

    def _remember(self, record: DedupRecord) -> None:
        self._records[record.article_id] = record
        self._by_fingerprint.setdefault(record.fingerprint, record)
        self._near.add(record.article_id, record.signature)
        self._stories.add(record.article_id, record.terms, record.story_id, candidate=record.duplicate_of is None)

    def _follows_up(self, document: NewDocument, original: DedupRecord) -> bool:
        # New against the copy it matched and against that copy's original: either may be the longer text.
        root = self._records.get(original.duplicate_of or original.article_id, original)
        return new_lead(document, original.terms) and new_lead(document, root.terms)

    def assign(self, documents: Iterable[NewDocument], workers: int = 1) -> list[DedupRecord]:
        """Records for these documents, each compared with the history and every document before it."""
        results: list[DedupRecord] = []
        for document, features in _features(documents, workers):
            fingerprint, signature, terms = features.fingerprint, features.signature, features.terms
            original = self._by_fingerprint.get(fingerprint) if features.word_count else None
            if original is None and features.word_count >= 20:
                match = self._near.best_match(signature, self.near_duplicate_threshold)
                original = self._records[match[0]] if match else None
            if original is not None and fingerprint != original.fingerprint and self._follows_up(document, original):
                # A follow-up: the same text under a new first paragraph is news of the story, not a copy.
                record = DedupRecord(document.article_id, fingerprint, signature, terms, original.story_id)
            elif original is not None:
                root = original.duplicate_of or original.article_id
                record = DedupRecord(document.article_id, fingerprint, signature, terms, original.story_id, root)
            else:
                found = self._stories.best_story(terms, self.story_threshold)
                story_id = found[0] if found else f"s-{document.article_id}"
                record = DedupRecord(document.article_id, fingerprint, signature, terms, story_id)
            results.append(record)
            self._remember(record)
        return results


def assign_stories(
    documents: Iterable[NewDocument],
    known: Sequence[DedupRecord],
    near_duplicate_threshold: float = 0.7,
    story_threshold: float = 0.22,
    workers: int = 1,
) -> list[DedupRecord]:
    """Mark exact and near copies, and put each new article into an existing or a new story.

    Documents are taken in order, each compared with everything before it. With workers > 1 the
    per-article work (tokens, fingerprint, signature, terms) runs in that many processes; the result is
    the same.
    """
    return StoryAssigner(known, near_duplicate_threshold, story_threshold).assign(documents, workers)
