"""Article identity from its address: canonical URLs (tracking parameters dropped) and article keys."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that track a click rather than name a resource.
_TRACKING_PARAMS = {
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "yclid",
    "ref",
    "ref_src",
    "ref_url",
    "referrer",
    "cmpid",
    "ocid",
    "smid",
    "smtyp",
    "src",
    "source",
    "_ga",
    "_gl",
    "mkt_tok",
    "spm",
    "share",
    "sharesource",
    "at_medium",
    "at_campaign",
    "cid",
}
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "oly_", "vero_", "__hs", "at_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str | None) -> str | None:
    """The URL with tracking parameters, fragment, default port and host case removed."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    port = parts.port if parts.port and parts.port != _DEFAULT_PORTS.get(scheme) else None
    netloc = f"{host}:{port}" if port else host
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in _TRACKING_PARAMS and not key.lower().startswith(_TRACKING_PREFIXES)
    )
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def article_key(canonical: str | None, guid: str) -> str:
    """A stable article id: from the canonical URL, or from the GUID when there is no URL."""
    basis = canonical or f"guid:{guid}"
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]
