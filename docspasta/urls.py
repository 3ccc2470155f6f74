"""Pure URL functions: normalise, dedup key, scope. No I/O.

Paths are never lowercased (`/API.html` and `/api.html` are different pages on most
servers); scheme and host are. Query parameters keep their order, minus tracking ones.
Percent-encodings follow RFC 3986 section 6.2.2: unreserved characters are decoded
(`%69ntro` is `intro`), the rest keep their encoding with uppercase hex (`%2F` stays
`%2F`: decoding a reserved character changes what the URL means).

No library does exactly this: w3lib's `canonicalize_url` sorts query parameters (order
can matter to a server, and we keep it) and url-normalize also rewrites hosts (IDNA) and
guesses schemes, at several times the cost of this function, which runs on every link.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from .errors import InvalidSettingError, InvalidURLError

MAX_URL_LENGTH = 2048

TRACKING_PARAMS = frozenset(
    {"gclid", "fbclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "_ga", "_gl", "igshid", "ref_src"}
)
# session ids make every visit a new URL (a crawler trap); the page is the same without them
SESSION_PARAMS = frozenset(
    {"phpsessid", "jsessionid", "sid", "sessionid", "session_id", "aspsessionid", "cfid", "cftoken", "zenid", "oscsid"}
)
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sessionid|sid)=[^/?#]*", re.IGNORECASE)

NON_PAGE_EXTENSIONS = frozenset(
    [
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "webp",
        "ico",
        "bmp",
        "tif",
        "tiff",
        "avif",
        "pdf",
        "ps",
        "eps",
        "epub",
        "mobi",
        "djvu",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "odt",
        "ods",
        "odp",
        "rtf",
        "csv",
        "tsv",
        "zip",
        "tar",
        "gz",
        "tgz",
        "bz2",
        "xz",
        "7z",
        "rar",
        "zst",
        "whl",
        "egg",
        "deb",
        "rpm",
        "dmg",
        "exe",
        "msi",
        "apk",
        "jar",
        "iso",
        "bin",
        "img",
        "mp3",
        "mp4",
        "m4a",
        "webm",
        "avi",
        "mov",
        "mkv",
        "wav",
        "ogg",
        "flac",
        "css",
        "js",
        "mjs",
        "map",
        "json",
        "xml",
        "rss",
        "atom",
        "txt",
        "rst",
        "md",
        "ipynb",
        "py",
        "c",
        "h",
        "woff",
        "woff2",
        "ttf",
        "otf",
        "eot",
        "wasm",
    ]
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = "/?%:@!$&'()*+,;=-._~"
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")


def check_start_url(url: object) -> str:
    """Raise InvalidURLError unless `url` is an absolute http(s) URL with a host."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidURLError("url", url, "an absolute http:// or https:// URL, e.g. https://docs.python.org/3/")
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        shown = parts.scheme + "://" if parts.scheme else "no scheme"
        raise InvalidURLError("url", url, f"an http:// or https:// URL (got {shown})")
    if not parts.hostname:
        raise InvalidURLError("url", url, "a URL with a host name, e.g. https://example.org/docs/")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURLError("url", url[:80] + "...", f"a URL of at most {MAX_URL_LENGTH} characters")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidURLError("url", url, "a valid port number") from None
    return url.strip()


def normalize(url: str, base: str | None = None) -> str | None:
    """Absolute, canonical form of `url` (resolved against `base`), or None if not http(s).

    Drops the fragment, default port, tracking parameters and session ids; resolves dot segments;
    lowercases scheme and host only; percent-encodes unsafe characters consistently.
    """
    url = url.strip()
    if base is not None:
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or len(url) > MAX_URL_LENGTH:
        return None
    host = parts.hostname.rstrip(".").lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _normalize_path(_PATH_SESSION.sub("", parts.path))
    query = _normalize_query(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def _normalize_path(path: str) -> str:
    if not path:
        return "/"
    # encodings first, so `%2E%2E` is the dot segment it spells before segments are removed
    path = normalize_percent_encodings(quote(path, safe=_PATH_SAFE))
    trailing = path.endswith("/") or path.endswith("/.") or path.endswith("/..")
    resolved = posixpath.normpath(path)
    if resolved.startswith("//"):
        resolved = "/" + resolved.lstrip("/")
    if resolved in (".", ""):
        resolved = "/"
    if trailing and not resolved.endswith("/"):
        resolved += "/"
    return resolved


def _normalize_query(query: str) -> str:
    """Pairs kept in their order and spelling, minus tracking and session parameters.

    The query is never decoded and re-encoded as a whole: that would turn `%2B` into a
    `+`, which a server reads as a space, and `%26` inside a value into a separator.
    """
    if not query:
        return ""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        key = pair.split("=", 1)[0]
        if _dropped_param(unquote(key.replace("+", " ")).lower()):
            continue
        kept.append(normalize_percent_encodings(quote(pair, safe=_QUERY_SAFE)))
    return "&".join(kept)


def normalize_percent_encodings(text: str) -> str:
    """Decode percent-encoded unreserved characters; uppercase the hex of the others."""
    if "%" not in text:
        return text
    return _PERCENT_ENCODED.sub(_normalize_one_encoding, text)


def _normalize_one_encoding(match: re.Match[str]) -> str:
    char = chr(int(match.group(0)[1:], 16))
    return char if char in _UNRESERVED else match.group(0).upper()


def _dropped_param(key: str) -> bool:
    return key.startswith("utm_") or key in TRACKING_PARAMS or key in SESSION_PARAMS


def host_of(url: str) -> str:
    """The host[:port] of an absolute URL as normalize() writes it (no parsing needed)."""
    return url.split("://", 1)[-1].split("/", 1)[0]


def dedup_key(normalized_url: str) -> str:
    """The key two spellings of one page share. Normalisation already did the work;
    the scheme is dropped so http:// and https:// copies of a page are one page."""
    return normalized_url.split("://", 1)[1]


def is_markdown_path(url: str) -> bool:
    return urlsplit(url).path.lower().endswith((".md", ".markdown"))


def markdown_siblings(url: str) -> list[str]:
    """Where a site may publish an HTML page's Markdown: the URL with `.md` appended
    (llmstxt.org; `index.html.md` for a directory), or its file name's extension swapped
    for `.md` (`guide.html` -> `guide.md`, `guide/` -> `guide.md`)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if path.endswith("/"):
        names = [path + "index.html.md", path + "index.md"] + ([path[:-1] + ".md"] if path != "/" else [])
    elif path.lower().endswith((".html", ".htm")):
        names = [path + ".md", path[: path.rfind(".")] + ".md"]
    else:
        names = [path + ".md"]
    return [urlunsplit((parts.scheme, parts.netloc, name, "", "")) for name in names]


def html_siblings(url: str) -> list[str]:
    """The HTML pages a `.md` URL may be the Markdown of: markdown_siblings the other way."""
    parts = urlsplit(url)
    base = parts.path[: parts.path.rfind(".")]  # guide.html.md -> guide.html, guide.md -> guide
    names = [base, base + ".html", base + "/"]
    if base.endswith(("/index", "/index.html")):
        names.append(base[: base.rfind("/") + 1])
    return [urlunsplit((parts.scheme, parts.netloc, name, "", "")) for name in dict.fromkeys(names)]


def has_non_page_extension(url: str) -> bool:
    last = urlsplit(url).path.rsplit("/", 1)[-1]
    if "." not in last:
        return False
    return last.rsplit(".", 1)[-1].lower() in NON_PAGE_EXTENSIONS


def directory_of(url: str) -> str:
    """The path prefix that scopes a crawl started at `url`.

    `/docs/guide/intro.html` -> `/docs/guide/`; a last segment without an extension is a
    directory: `/docs/guide` -> `/docs/guide/`.
    """
    path = urlsplit(url).path or "/"
    if path.endswith("/"):
        return path
    last = path.rsplit("/", 1)[-1]
    if "." in last:
        return path[: len(path) - len(last)]
    return path + "/"


@lru_cache(maxsize=256)
def compile_glob(pattern: str, *, field: str = "include") -> re.Pattern[str]:
    """Glob over URL paths: `*` and `?` stay inside one segment, `**` crosses segments.

    A pattern not starting with `/` may match at any depth (`api/*` matches `/v2/api/x`).
    """
    if not isinstance(pattern, str) or not pattern.strip():
        raise InvalidSettingError(field, pattern, "a non-empty glob such as /docs/** or *.html")
    pattern = pattern.strip()
    out = [] if pattern.startswith("/") else ["(?:.*/)?"]
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            if i < len(pattern) and pattern[i] == "/":
                out[-1] = "(?:.*/)?"
                i += 1
            continue
        out.append({"*": "[^/]*", "?": "[^/]"}.get(ch, re.escape(ch)))
        i += 1
    return re.compile("".join(out) + r"\Z")


@dataclass(frozen=True)
class Scope:
    """What a crawl may fetch: one host, one path prefix, include/exclude globs."""

    host: str
    prefix: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # names a link to a literal non-public address for what it is (guard.AddressGuard.literal_refusal)
    literal_refusal: Callable[[str], str | None] | None = None
    markdown_pages: bool = False  # .md files are pages (the site's own Markdown), not files to skip

    def reason_to_skip(self, url: str) -> str | None:
        """None if `url` (normalised) is in scope, else the short reason it is not."""
        parts = urlsplit(url)
        if parts.netloc != self.host:
            if self.literal_refusal is not None and (blocked := self.literal_refusal(url)) is not None:
                return blocked
            return "out of scope: other host"
        path = parts.path
        if not (path.startswith(self.prefix) or path + "/" == self.prefix):
            return f"out of scope: outside {self.prefix}"
        for pattern in self.exclude:
            if compile_glob(pattern, field="exclude").match(path):
                return f"out of scope: excluded by {pattern}"
        if self.include and not any(compile_glob(p).match(path) for p in self.include):
            return "out of scope: matches no include pattern"
        if has_non_page_extension(url) and not (self.markdown_pages and is_markdown_path(url)):
            return "non-page file"
        return None
