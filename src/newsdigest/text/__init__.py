"""Text as every stage reads it.

- sentences: the one sentence splitter, with the one abbreviation list (words/abbreviations.txt).
- facts: the figures, quotations and dates of a text, as written (what a claim must keep verbatim).
- wordlists: word lists shipped as package data (words/*.txt), read once.
- safe: text as it enters (control, bidi and invisible characters out; size and paragraph caps).
"""
