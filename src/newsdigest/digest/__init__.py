"""The digest: a day's stories from the store, ranked and filtered, rendered in every format.

assemble  a date's stories from the store, best first, each with its selected claims
filters   watch lists (include, exclude, highlight), per-source caps and weights, sections
formats   the one table of output formats: extension, template, media type, archive link, viewer
render    Jinja2 over digest_templates/ for every format in the table (HTML autoescaped)
jsonio    the digest as JSON and back (the email and `send` read a written digest)
archive   the digest folder's index.html and Atom feed.xml; finding a written digest

A new format: a row in formats.FORMATS and its template digest_templates/digest.<ext>.j2.
"""
