"""Fidelity: a claim's numbers, quotations, date and speaker must appear verbatim in its sources."""

from __future__ import annotations

from collections.abc import Sequence

from newsdigest.models import Claim
from newsdigest.text.facts import numbers_in, quotes_in


def fidelity_problems(claim: Claim, sources: Sequence[str]) -> list[str]:
    """What in a claim does not appear verbatim in any of its source texts; empty when faithful."""
    problems: list[str] = []
    for number in numbers_in(claim.text):
        if not any(number in source for source in sources):
            problems.append(f"number {number!r} not in source")
    for quote in quotes_in(claim.text):
        if not any(quote in source for source in sources):
            problems.append(f"quotation {quote!r} not in source")
    if claim.claim_date and not any(claim.claim_date in source for source in sources):
        problems.append(f"date {claim.claim_date!r} not in source")
    if claim.speaker:
        surname = claim.speaker.split()[-1]
        if not any(surname in source for source in sources):
            problems.append(f"speaker {claim.speaker!r} not in source")
    return problems


def faithful_claims(claims: Sequence[Claim], sources: Sequence[str]) -> tuple[Claim, ...]:
    """Only the claims whose numbers, quotes, dates and speakers all appear in the sources."""
    return tuple(claim for claim in claims if not fidelity_problems(claim, sources))
