"""The optional language-model backend, against a scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from newsdigest.claims.llm.client import MAX_FAILURES_IN_A_ROW, LLMSummarizer
from newsdigest.claims.llm.prompt import build_messages, cut_text
from newsdigest.claims.llm.reply import parse_reply
from newsdigest.cleaning.flat import clean_text
from newsdigest.config.load import parse_config
from newsdigest.config.records import SummarizerSettings
from newsdigest.digest.assemble import build_digest, story_from_articles
from newsdigest.errors import SummarizerError
from newsdigest.models import Article, Claim, DedupRecord, StoredArticle
from tests.conftest import SEED_ARTICLE

SEED_TEXT = clean_text(SEED_ARTICLE.read_text(encoding="utf-8"))
DAY = date(2025, 4, 16)
KEY = "sk-test-0123456789abcdef"

# A second outlet's shorter report that copies one of the seed's sentences word for word.
SHARED = (
    "Cherniak said more than 11,000 North Korean troops have been deployed to Russia's Kursk Oblast, "
    "which borders both the Sumy and Kharkiv oblasts."
)
SECOND_TEXT = (
    "Russia could send North Korean soldiers into new offensives in northeastern Ukraine, Kyiv warned.\n"
    f"{SHARED} Most of them are still in the region, he said.\n"
    "The spokesperson spoke to the Japanese broadcaster NHK."
)

# Faithful claims, as a model copying sentences would give them.
CHERNIAK = {"article": 1, "text": SHARED, "speaker": "Andrii Cherniak", "cue": "said", "date": "April 15"}
ZELENSKY = {
    "article": 1,
    "text": (
        'President Volodymyr Zelensky said on April 11 that "several hundred" Chinese nationals are also '
        "fighting in Russian ranks."
    ),
    "speaker": "Volodymyr Zelensky",
    "cue": "said",
    "date": "April 11",
}
BEIJING = {
    "article": 1,
    "text": (
        "Beijing has denied any direct involvement in the war, saying it has always appealed to its citizens "
        "to avoid armed conflicts."
    ),
    "speaker": "Beijing",
    "cue": "denied",
    "date": None,
}


# --- a scripted OpenAI-compatible server -------------------------------------------------------------


@dataclass
class Reply:
    """One scripted answer of the chat server."""

    status: int = 200
    body: bytes = b""
    delay: float = 0.0


def completion(content: str) -> Reply:
    """A chat completion whose message is `content`."""
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
    }
    return Reply(200, json.dumps(body).encode())


def claims_reply(*claims: dict[str, Any]) -> Reply:
    """A completion answering with these claims as a JSON object."""
    return completion(json.dumps({"claims": list(claims)}))


@dataclass
class Request:
    """What the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)


class ChatServer:
    """Answers POST /v1/chat/completions with the scripted replies in turn, recording every request."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                server.requests.append(Request(self.path, dict(self.headers.items()), json.loads(raw or b"{}")))
                reply = server.replies.pop(0) if server.replies else Reply(500, b'{"error": "no scripted reply"}')
                if self.path != "/v1/chat/completions":
                    reply = Reply(404, b'{"error": "not found"}')
                time.sleep(reply.delay)
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args: Any) -> None:  # keep test output clean
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # a client that timed out and left is expected here

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        # A short poll interval: shutdown() waits for one, and every test stops a server.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    """A fresh scripted chat server for one test."""
    server = ChatServer()
    try:
        yield server
    finally:
        server.close()


def settings_for(base_url: str, **overrides: Any) -> SummarizerSettings:
    """Settings of the openai backend at `base_url`."""
    return replace(SummarizerSettings(backend="openai", base_url=base_url, model="test-model"), **overrides)


def stored(article_id: str, source: str, title: str, text: str, hour: int) -> StoredArticle:
    """A stored article of story s1, first seen on the digest date."""
    when = datetime(2025, 4, 16, hour, tzinfo=UTC)
    article = Article(
        article_id=article_id,
        source=source,
        url=f"https://{article_id}.example/story",
        canonical_url=None,
        guid=article_id,
        title=title,
        published=when,
        text=text,
    )
    record = DedupRecord(article_id=article_id, fingerprint="", signature=(), terms={}, story_id="s1")
    return StoredArticle(article=article, digest_date=DAY, first_seen=when, dedup=record)


ITEMS = [
    stored("ki", "Kyiv Independent", "Ukraine warns of North Korean troops in new offensives", SEED_TEXT, 8),
    stored("nh", "Northwind Herald", "North Korean troops may join spring offensive", SECOND_TEXT, 9),
]
EXTRACTIVE = story_from_articles("s1", ITEMS, DAY, 160).claims


def llm_story(server: ChatServer, *replies: Reply, **overrides: Any) -> tuple[Claim, ...]:
    """The claims of the two-article story with the server giving these replies."""
    server.replies.extend(replies)
    with LLMSummarizer(settings_for(server.base_url, **overrides), environ={}) as summarizer:
        return story_from_articles("s1", ITEMS, DAY, 160, summarizer).claims


# --- faithful claims ---------------------------------------------------------------------------------


def test_faithful_claims_reach_the_story_in_the_articles_own_words(chat: ChatServer) -> None:
    # The model straightens the article's quotation marks; the digest keeps the article's characters.
    zelensky = dict(ZELENSKY, text=ZELENSKY["text"].replace('"', "\u201c", 1).replace('"', "\u201d", 1))
    claims = llm_story(chat, claims_reply(CHERNIAK, zelensky, BEIJING))
    assert [c.text for c in claims] == [CHERNIAK["text"], ZELENSKY["text"], BEIJING["text"]]
    cherniak, president, beijing = claims
    # The copied sentence is in both articles: both outlets carry it.
    assert cherniak.outlets == ("Kyiv Independent", "Northwind Herald")
    assert president.outlets == ("Kyiv Independent",)
    assert cherniak.kind == "attributed" and cherniak.speaker == "Andrii Cherniak" and cherniak.cue == "said"
    assert "HUR" in (cherniak.speaker_role or "")  # the role comes from the article, as extracted
    assert president.claim_date == "April 11" and beijing.cue == "denied"
    assert all(c.score > 0 for c in claims), "scores comparable with extractive stories"

    (request,) = chat.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "test-model" and request.body["temperature"] == 0.0
    assert request.body["stream"] is False
    prompt = request.body["messages"][-1]["content"]
    assert "Article 1 (Kyiv Independent)" in prompt and "Article 2 (Northwind Herald)" in prompt
    assert "11,000" in prompt and "at most 5 key claims" in prompt
    assert "Authorization" not in request.headers, "no key configured, none sent"


def test_an_unattributed_figure_is_a_figure_and_a_plain_sentence_a_key_point(chat: ChatServer) -> None:
    lead = {"article": 2, "text": "The spokesperson spoke to the Japanese broadcaster NHK."}
    number = {
        "article": 1,
        "text": "Roughly 5,000 have already been killed or injured, but 6,000 remain in the region and are likely "
        "to be used in new assaults.",
        "speaker": "null",
        "cue": "",
    }
    claims = llm_story(chat, claims_reply(lead, number))
    assert [(c.kind, c.speaker, c.cue) for c in claims] == [("fact", None, None), ("figure", None, None)]
    assert claims[0].outlets == ("Northwind Herald",)


def test_claims_are_capped_by_max_claims_and_repeats_dropped(chat: ChatServer) -> None:
    claims = llm_story(chat, claims_reply(CHERNIAK, CHERNIAK, ZELENSKY, BEIJING), max_claims=2)
    assert [c.speaker for c in claims] == ["Andrii Cherniak", "Volodymyr Zelensky"]


# --- unfaithful claims -------------------------------------------------------------------------------

# Each case: the forged claim, the reason logged, and a faithful claim of the same reply that must survive.
FORGED = {
    "an invented number": (
        dict(CHERNIAK, text=SHARED.replace("11,000", "12,000")),
        "number '12,000' not in source",
        ZELENSKY,
    ),
    "an invented quote": (
        dict(BEIJING, text='Beijing has denied any direct involvement, calling it "pure fiction".'),
        "quotation 'pure fiction' not in source",
        ZELENSKY,
    ),
    "a wrong speaker": (
        dict(CHERNIAK, speaker="President Volodymyr Zelensky"),
        "the article attributes it to 'Andrii Cherniak'",
        BEIJING,
    ),
    "a speaker the article does not name": (
        dict(BEIJING, speaker="Xi Jinping"),
        "speaker 'Xi Jinping' not in source",
        ZELENSKY,
    ),
    "a paraphrase": (
        dict(BEIJING, text="Beijing denied being involved in the war and told its citizens to stay out of it."),
        "not copied word for word",
        ZELENSKY,
    ),
    "a fragment that drops the negation": (
        {
            "article": 1,
            "text": "Russia will deploy North Korean troops in the offensives against the northeastern Sumy and "
            "Kharkiv oblasts",
            "speaker": None,
        },
        "not copied word for word",
        ZELENSKY,
    ),
    "an invented date": (dict(ZELENSKY, date="April 12"), "date 'April 12' not in source", CHERNIAK),
}


@pytest.mark.parametrize("case", list(FORGED))
def test_unfaithful_claims_are_dropped_and_logged(
    chat: ChatServer, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    forged, reason, good = FORGED[case]
    with caplog.at_level(logging.WARNING):
        claims = llm_story(chat, claims_reply(forged, good))
    assert [c.text for c in claims] == [good["text"]], "only the faithful claim reaches the story"
    dropped = [r.getMessage() for r in caplog.records if "dropped a summarizer claim" in r.getMessage()]
    assert len(dropped) == 1 and reason in dropped[0], dropped


def test_when_every_claim_fails_the_extractive_claims_stand(chat: ChatServer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        claims = llm_story(chat, claims_reply(FORGED["an invented number"][0], FORGED["a paraphrase"][0]))
    assert claims == EXTRACTIVE
    assert "no claim of the summarizer" in caplog.text


# --- failures fall back to the extractive claims -----------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


FAILURES = {
    "malformed JSON": (completion('{"claims": [{"article": 1, "text": "Cherniak said'), "no JSON list of claims"),
    "prose only": (completion("I'm sorry, I cannot help with that."), "no JSON list of claims"),
    "an empty list": (completion("[]"), "no claims"),
    "HTTP 500": (Reply(500, b'{"error": "model crashed"}'), "HTTP 500"),
    "not a chat completion": (Reply(200, b'{"ok": true}'), "not an OpenAI chat completion"),
    "a slow server": (Reply(200, completion("[]").body, delay=1.0), "no answer within 0.3 s"),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_backend_failures_fall_back_to_extractive_claims(
    chat: ChatServer, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    reply, reason = FAILURES[case]
    with caplog.at_level(logging.WARNING):
        claims = llm_story(chat, reply, timeout_seconds=0.3)
    assert claims == EXTRACTIVE
    assert len(chat.requests) == 1
    assert "using extractive claims" in caplog.text and reason in caplog.text


def test_connection_refused_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(f"http://127.0.0.1:{_closed_port()}/v1")
    with caplog.at_level(logging.WARNING), LLMSummarizer(settings, environ={}) as summarizer:
        claims = story_from_articles("s1", ITEMS, DAY, 160, summarizer).claims
    assert claims == EXTRACTIVE
    assert "ConnectError" in caplog.text and "using extractive claims" in caplog.text


def test_repeated_failures_stop_asking_for_the_rest_of_the_digest(chat: ChatServer) -> None:
    chat.replies.extend(Reply(503, b"overloaded") for _ in range(5))
    with LLMSummarizer(settings_for(chat.base_url), environ={}) as summarizer:
        stories = [story_from_articles(f"s{n}", ITEMS, DAY, 160, summarizer) for n in range(4)]
    assert all(story.claims == EXTRACTIVE for story in stories)
    assert len(chat.requests) == MAX_FAILURES_IN_A_ROW, "a dead server costs two timeouts, not one per story"


# --- the API key -------------------------------------------------------------------------------------


def test_the_api_key_travels_in_the_header_and_never_in_the_logs(
    chat: ChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(chat.base_url, api_key_env="TEST_LLM_KEY")
    # The second answer echoes the key back, as a careless proxy's error page might.
    chat.replies.extend([claims_reply(CHERNIAK), Reply(401, f'{{"error": "bad key {KEY}"}}'.encode())])
    with caplog.at_level(logging.DEBUG), LLMSummarizer(settings, environ={"TEST_LLM_KEY": KEY}) as summarizer:
        first = story_from_articles("s1", ITEMS, DAY, 160, summarizer).claims
        second = story_from_articles("s1", ITEMS, DAY, 160, summarizer).claims
    assert [c.text for c in first] == [SHARED] and second == EXTRACTIVE
    assert [r.headers["Authorization"] for r in chat.requests] == [f"Bearer {KEY}"] * 2
    assert "HTTP 401" in caplog.text and KEY not in caplog.text


def test_a_named_but_unset_key_variable_is_logged_by_name_and_no_header_sent(
    chat: ChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        llm_story(chat, claims_reply(CHERNIAK), api_key_env="ABSENT_LLM_KEY")
    assert "ABSENT_LLM_KEY" in caplog.text
    assert "Authorization" not in chat.requests[0].headers


# --- the digest: the default never touches the network ----------------------------------------------


class FakeStore:
    """The three store queries build_digest makes, over fixed articles."""

    def __init__(self, items: list[StoredArticle]) -> None:
        self.items = items

    def articles_for_digest(self, digest_date: date, with_text: bool = True) -> list[StoredArticle]:
        return [item for item in self.items if item.digest_date == digest_date]

    def articles_of_stories(self, story_ids: Any, until: date, with_text: bool = True) -> list[StoredArticle]:
        return [item for item in self.items if item.dedup.story_id in story_ids]

    def article_texts(self, article_ids: Any) -> dict[str, str]:
        wanted = set(article_ids)
        return {item.article.article_id: item.article.text for item in self.items if item.article.article_id in wanted}


def _digest(summarizer: SummarizerSettings | None) -> tuple[Claim, ...]:
    digest = build_digest(
        FakeStore(ITEMS),  # type: ignore[arg-type]
        DAY,
        title="Test",
        generated_at=datetime(2025, 4, 16, 12, tzinfo=UTC),
        word_budget=160,
        max_stories=10,
        summarizer=summarizer,
    )
    (story,) = digest.stories
    return story.claims


def test_without_the_backend_no_request_is_made(chat: ChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the extractive backend made an HTTP request")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)
    assert parse_config({}, SEED_ARTICLE.parent).summarizer.backend == "extractive"
    # Even a configured endpoint is left alone while the backend is extractive.
    configured = SummarizerSettings(base_url=chat.base_url, model="test-model", api_key_env="TEST_LLM_KEY")
    for settings in (None, SummarizerSettings(), configured):
        assert _digest(settings) == EXTRACTIVE
    assert chat.requests == []


def test_build_digest_asks_the_model_when_the_backend_is_openai(chat: ChatServer) -> None:
    chat.replies.append(claims_reply(ZELENSKY, CHERNIAK))
    claims = _digest(settings_for(chat.base_url))
    assert [c.speaker for c in claims] == ["Volodymyr Zelensky", "Andrii Cherniak"]
    assert len(chat.requests) == 1


# --- the reply parser and the prompt -----------------------------------------------------------------

ITEM = {"article": 2, "text": "A sentence.", "speaker": "Ann Lee", "cue": "said", "date": None}


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"claims": [ITEM]}),
        json.dumps([ITEM]),
        f"```json\n{json.dumps({'claims': [ITEM]})}\n```",
        f"Here are the key claims:\n\n```\n{json.dumps([ITEM], indent=2)}\n```\nHope this helps!",
        f"Sure! {json.dumps({'claims': [ITEM]})} Let me know if you need more.",
        f"<think>The claims are [maybe] {{these}}...</think>\n{json.dumps([ITEM])}",
        f"From article [2] {{see below}}: {json.dumps([ITEM])}",
        json.dumps({"claims": [dict(ITEM, article="2"), {"speaker": "no text"}, "junk"]}),
    ],
)
def test_replies_are_parsed_robustly(content: str) -> None:
    (claim,) = parse_reply(content)
    assert (claim.article, claim.text, claim.speaker, claim.cue, claim.date) == (
        2,
        "A sentence.",
        "Ann Lee",
        "said",
        None,
    )


@pytest.mark.parametrize("content", ["", "no json here", '{"claims": [', '{"answer": 42}', "[]", '[{"x": 1}]'])
def test_unusable_replies_raise(content: str) -> None:
    with pytest.raises(SummarizerError):
        parse_reply(content)


def test_the_prompt_keeps_whole_sentences_within_the_budget() -> None:
    many = [replace(ITEMS[0].article, article_id=f"a{n}", source=f"Outlet {n}") for n in range(12)]
    settings = SummarizerSettings(backend="openai", base_url="http://127.0.0.1:9/v1", model="m", max_input_chars=4000)
    messages, count = build_messages(many, settings)
    assert 1 <= count < 12
    assert len(messages[-1]["content"]) < 4000 + 2000  # the articles' share plus the instructions
    cut = cut_text(SEED_TEXT, 600)
    assert len(cut) <= 600 and SEED_TEXT.startswith(cut) and SEED_TEXT[len(cut)] == "\n"  # whole paragraphs
    # A first paragraph longer than the limit is cut after a whole sentence.
    assert cut_text("First one here. Second one is longer. Third.", 38) == "First one here. Second one is longer."
