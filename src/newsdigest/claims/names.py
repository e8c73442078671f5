"""How news text names a speaker: verbs of saying, titles, names, role phrases, pronouns.

Regular-expression pieces (strings, to be built into patterns) and word sets shared by the claim
patterns (claims.patterns), the speaker memory (claims.attribution) and the tagger's source chooser.
"""

from __future__ import annotations

from newsdigest.text.wordlists import word_list, word_set

# Verbs of saying, as regex alternatives in the file's order.
CUES = "|".join(word_list("speech_verbs"))
TITLE = (
    r"(?:President|Prime Minister|Minister|Commander-in-Chief|Commander|General|Gen\.|Secretary|Senator|Sen\.|"
    r"Governor|Gov\.|Mayor|Chancellor|Chief|Director|Judge|Justice|Spokesperson|Spokesman|Spokeswoman|Ambassador|"
    r"King|Queen|Pope|Dr\.|Mr\.|Mrs\.|Ms\.|Professor|Prof\.|Representative|Rep\.|Councillor|Councilor|Police Chief)"
)
NAME_WORD = r"[A-Z\u00c0-\u024e][\w\u00c0-\u024f'’.-]*"
NAME = rf"(?:{TITLE}\s+)*{NAME_WORD}(?:\s+(?:de|van|von|al|bin|da|del|der|la|le)?\s*{NAME_WORD}){{0,4}}"
ROLE_NP = (
    r"(?:[Tt]he|[Aa]n?|[Ii]ts|[Hh]is|[Hh]er|[Tt]heir)\s+(?:[a-z\u00e0-\u024f'’-]+\s+){0,4}"
    r"(?:spokesperson|spokesman|spokeswoman|official|officials|minister|ministry|agency|company|government|"
    r"police|authorities|report|statement|study|survey|analysts?|experts?|researchers?|council|director|chief|"
    r"president|commander|mayor|governor|union|department|office|court|judge|prosecutors?|committee|city|"
    r"club|board|organi[sz]ers|utility|operator|bank|district|service|authority|association|group)"
)
PRONOUN = r"(?:He|She|They|It|We)"

# First words that make the words before a verb of saying no speaker ("That said", "But, she said").
NOT_SPEAKERS = word_set("not_speakers")
# The tagger's sources: pronouns and determiners that open a span without naming anyone.
PRONOUNS = frozenset({"he", "she", "they", "i", "we", "it", "you", "him", "her", "them"})
DEFINITE = frozenset({"the", "his", "her", "their", "its", "this", "that"})
NOT_NAMES = PRONOUNS | DEFINITE | {"a", "an", "some", "many", "most", "both", "several", "one", "two", "others"}
