"""Key claims: who said what, taken verbatim from the articles, and which of them a story shows.

- extract: an article's candidate claims (attributed statements, figures, the lead, salient facts).
- patterns: the hand-written attribution patterns of one sentence.
- attribution: the one Attribution record, the one SpeakerMemory, find_attributions (the tagger's).
- names: regex pieces and word sets for naming speakers (verbs of saying, titles, roles).
- tagger/: the trained attribution tagger (tokens, features, model, decode, sources).
- salience: the trained sentence-salience model.
- rank: every weight that ranks claims; select_claims.
- rankers: the ClaimRanker protocol, the extractive ranker and the backend table.
- llm: the "openai" ranker (a language model behind an OpenAI-compatible endpoint).
- fidelity: a claim's figures, quotations, date and speaker must be in its sources.
- weights/: the trained weights (benchmarks/train_attribution.py, benchmarks/train_salience.py).
"""
