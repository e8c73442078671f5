"""Stories: which articles are copies of one another, and which report the same event.

urls      canonical URLs (tracking parameters dropped) and article keys
nearcopy  word tokens, fingerprints, MinHash signatures, the LSH index of near-copies
grouping  story terms (names, figures, dates, headline and content words), the index that finds an article's
          story, and the trained model that decides (weights/: the model and a background idf table, both
          written by benchmarks/stories.py --train)
assign    new articles against the known ones: copy, follow-up or story, one article at a time
followups which of a story's claims are news since its first report (shown first, marked new)
differences where a story's outlets give different figures for one quantity (Story.notes)
"""
