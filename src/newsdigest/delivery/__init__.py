"""Delivery: a rendered digest reaches its readers, as files, by email, or on this machine's screen.

files     atomic writes: the digest's files and any other file the package writes
message   the email itself: subject, Message-ID, HTML and text bodies under the size cap
smtp      the server and its credentials (config, environment, Prefect block), one connection, failure classes
outbox    mailing exactly once per recipient through the store's outbox; send_due, retry_failed, failure notes
viewer    `newsdigest open`: the browser or $PAGER, as the formats table says
"""
