"""Stories: which articles are copies of one another, and which report the same event.

urls      canonical URLs (tracking parameters dropped) and article keys
nearcopy  word tokens, fingerprints, MinHash signatures, the LSH index of near-copies
grouping  story terms (names, figures, content words) and the index that finds an article's story
assign    new articles against the known ones: copy or story, one article at a time
"""
