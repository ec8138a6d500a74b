"""Web pages by URL: the one module that speaks HTTP (httpx).

`fetch_document(url, settings)` gets an http(s) URL with a timeout (RAGBOT_FETCH_TIMEOUT, seconds,
for connecting and between bytes), following redirects (at most MAX_REDIRECTS, staying on http and
https), reads at most RAGBOT_FETCH_MAX_BYTES of body, and extracts the page like a saved .html file
(retrieval/documents/extract.py). The URL as given is the document's source. Every failure (a bad
status, a timeout, a body too large, a content type that is not HTML, a connection error) raises
`FetchError` with a message saying what happened; nothing is retried. Does not run scripts, send
cookies or credentials, or read robots.txt.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from retrieval.documents.extract import EXTRACTION_VERSION, decode, html_text
from retrieval.errors import InputError
from retrieval.schema import Document
from retrieval.settings import Settings

SCHEMES = ("http", "https")
HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_REDIRECTS = 5
USER_AGENT = "ragbot (document ingest)"


class FetchError(Exception):
    """A page could not be fetched or is not HTML; the message says why."""


def is_url(text: str) -> bool:
    """Whether a command-line argument names a URL (anything with a scheme: "https://...", "ftp://...")."""
    return "://" in text and urlsplit(text).scheme.isalpha()


def check_url(url: str) -> str:
    """The URL when ragbot can fetch it (http or https, with a host); InputError otherwise."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise InputError(f"{url}: only http and https URLs can be ingested, not {parts.scheme}:")
    if not parts.hostname:
        raise InputError(f"{url}: the URL has no host")
    return url


def fetch_document(url: str, settings: Settings) -> Document:
    """The page at `url` as a Document whose source is `url` (see module docstring); FetchError when it cannot be."""
    from retrieval.documents.load import as_document, file_hash

    body, charset = _get(url, settings)
    text = _decode(body, charset)
    extracted = html_text(text)
    if not extracted.text.strip():
        raise FetchError("the page holds no text")
    document = as_document(url, extracted, f".html/{EXTRACTION_VERSION}", url)
    return replace(document, file_hash=file_hash(body))


def _decode(body: bytes, charset: str | None) -> str:
    if charset:
        try:
            return body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong or unknown declared charset: detect it as for a file
    try:
        return decode(body)
    except ValueError as exc:
        raise FetchError(f"the page is not text: {exc}") from None


def _get(url: str, settings: Settings) -> tuple[bytes, str | None]:
    """The body (at most fetch_max_bytes) and the declared charset of an HTML response."""
    import httpx

    limit = settings.fetch_max_bytes
    try:
        with (
            httpx.Client(
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                timeout=settings.fetch_timeout,
                headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"},
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise FetchError(f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind not in HTML_TYPES:
                raise FetchError(
                    f"the content type is {kind or 'not given'}, not an HTML page; save the file and ingest it instead"
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise FetchError(f"the page is {int(declared):,} bytes, over the {limit:,}-byte limit")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise FetchError(f"the page is over the {limit:,}-byte limit (RAGBOT_FETCH_MAX_BYTES)")
            return bytes(body), response.charset_encoding
    except httpx.TimeoutException:
        raise FetchError(f"no answer within {settings.fetch_timeout:g} s (RAGBOT_FETCH_TIMEOUT)") from None
    except httpx.TooManyRedirects:
        raise FetchError(f"more than {MAX_REDIRECTS} redirects") from None
    except httpx.UnsupportedProtocol as exc:
        raise FetchError(f"redirected to a URL ragbot does not fetch ({exc})") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"cannot connect: {exc}") from None
