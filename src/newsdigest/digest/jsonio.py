"""The digest as JSON data and back: what the JSON format carries, and a Digest rebuilt from its file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from newsdigest.models import Claim, Digest, SourceStatus, Story, StoryArticle


def _claim_dict(claim: Claim) -> dict[str, Any]:
    return {
        "text": claim.text,
        "kind": claim.kind,
        "speaker": claim.speaker,
        "speaker_role": claim.speaker_role,
        "cue": claim.cue,
        "date": claim.claim_date,
        "outlets": list(claim.outlets),
        "score": claim.score,
        "is_new": claim.is_new,
    }


def _story_dict(story: Story) -> dict[str, Any]:
    return {
        "id": story.story_id,
        "title": story.title,
        "summary": story.summary,
        "notes": list(story.notes),
        "is_update": story.is_update,
        "highlights": list(story.highlights),
        "section": story.section,
        "outlets": list(story.outlets),
        "outlet_count": len(story.outlets),
        "first_seen": story.first_seen.isoformat() if story.first_seen else None,
        "latest": story.latest.isoformat() if story.latest else None,
        "claims": [_claim_dict(claim) for claim in story.claims],
        "articles": [
            {
                "id": article.article_id,
                "source": article.source,
                "title": article.title,
                "url": article.url,
                "published": article.published.isoformat() if article.published else None,
                "duplicate_of": article.duplicate_of,
                "new": article.is_new,
            }
            for article in story.articles
        ],
    }


def digest_to_dict(digest: Digest) -> dict[str, Any]:
    """The digest as plain data: what the JSON format carries."""
    return {
        "title": digest.title,
        "date": digest.digest_date.isoformat(),
        "generated_at": digest.generated_at.isoformat(),
        "timezone": digest.timezone,
        "new_articles": digest.new_articles,
        "story_count": len(digest.stories),
        "stories": [_story_dict(story) for story in digest.stories],
        "sources": [
            {
                "name": s.source,
                "ok": s.ok,
                "entries": s.entries,
                "new_articles": s.new_articles,
                "error": s.error,
                "warning": s.warning,
            }
            for s in digest.sources
        ],
        "notes": list(digest.notes),
    }


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _claim(data: Mapping[str, Any]) -> Claim:
    return Claim(
        text=data["text"],
        kind=data["kind"],
        speaker=data["speaker"],
        speaker_role=data["speaker_role"],
        cue=data["cue"],
        claim_date=data["date"],
        score=data["score"],
        outlets=tuple(data["outlets"]),
        is_new=data.get("is_new", False),  # absent from digests written before follow-ups were marked
    )


def _article(data: Mapping[str, Any]) -> StoryArticle:
    return StoryArticle(
        article_id=data["id"],
        source=data["source"],
        title=data["title"],
        url=data["url"],
        published=_when(data["published"]),
        duplicate_of=data["duplicate_of"],
        is_new=data["new"],
    )


def _story(data: Mapping[str, Any]) -> Story:
    # "outlets" and "outlet_count" are derived from the articles: written for readers, not read back.
    return Story(
        story_id=data["id"],
        title=data["title"],
        summary=data.get("summary", ""),  # absent from digests written before stories had summaries
        notes=tuple(data.get("notes", ())),
        is_update=data["is_update"],
        highlights=tuple(data.get("highlights", ())),
        section=data.get("section", ""),
        first_seen=_when(data["first_seen"]),
        latest=_when(data["latest"]),
        claims=tuple(_claim(claim) for claim in data["claims"]),
        articles=tuple(_article(article) for article in data["articles"]),
    )


def digest_from_dict(data: Mapping[str, Any]) -> Digest:
    """Rebuild a Digest from what the JSON format carries (the inverse of digest_to_dict)."""
    return Digest(
        title=data["title"],
        digest_date=date.fromisoformat(data["date"]),
        generated_at=datetime.fromisoformat(data["generated_at"]),
        stories=tuple(_story(item) for item in data["stories"]),
        sources=tuple(
            SourceStatus(
                source=s["name"],
                ok=s["ok"],
                entries=s["entries"],
                new_articles=s["new_articles"],
                error=s["error"],
                warning=s["warning"],
            )
            for s in data["sources"]
        ),
        new_articles=data["new_articles"],
        timezone=data["timezone"],
        notes=tuple(data["notes"]),
    )


def load_digest(path: str | Path) -> Digest:
    """Read a digest written in the JSON format; ValueError when the file is missing or not a digest."""
    try:
        return digest_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"cannot read the digest {path}: {exc}") from exc
