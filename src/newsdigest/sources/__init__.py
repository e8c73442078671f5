"""Sources: reading the configured sources into entries, and keeping track of how they fare.

readers   the kind -> reader table and read_source, which turns any failure into a failed result
feeds     RSS, Atom and JSON Feed documents (the FEED kind's reader)
textdir   folders of flattened article text (the TEXT kind's reader)
fetch     http(s) and local files, with caps, politeness and the address guard
window    the digest's date and time window, and which entries are new
health    backoff after failures, and when a source counts as failing
report    the `sources list` table: each source's last status, failures and next check
manage    adding, removing, importing and exporting the configuration's sources

A new kind (a sitemap, a JSON API): its value in models.SourceKind, a module with its reader,
and a row in readers.READERS.

Whatever a source sends, readers.read_source is where its text enters the run: every entry is
made safe there (newsdigest.text.safe: NUL and other control characters dropped, bidi and
zero-width characters neutralised, an entry's HTML or text capped at MAX_ENTRY_CHARS characters
and MAX_ENTRY_PARAGRAPHS paragraphs, over-long guids hashed and over-long links dropped). A fetch
of a source or a page ends at total_timeout however slowly the server answers; a source's
retries in a run share that one budget; and a configured source's trust covers its origin
(scheme, host and port), not the other ports of its host.
"""
