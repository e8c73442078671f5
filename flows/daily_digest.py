"""Deployment entry point: `prefect.yaml` and `prefect deploy` name this file; the flow ships in the package."""

from newsdigest.flow import daily_digest

__all__ = ["daily_digest"]
