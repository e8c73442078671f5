"""newsdigest: a scheduled ingest-and-digest pipeline for news feeds."""

__version__ = "0.1.0"
