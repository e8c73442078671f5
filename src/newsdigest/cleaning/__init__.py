"""Cleaning: the text of each article, without page furniture.

articles     an entry into an Article: feed content, the fetched page or the teaser (pages prefetched)
extract      main text of an HTML page
flat         feed HTML and flattened text into clean paragraphs
boilerplate  per-source memory of recurring lines
"""
