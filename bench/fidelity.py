"""Fidelity and speed of docspasta's extraction against plain trafilatura, over several corpora.

    python bench/fidelity.py [CORPUS[@START] ...] [--limit N] [--no-crawl] [--max-pages N] [--json]

Each CORPUS is a directory of HTML (default: the Python docs, `apt-get install
python3-doc`); START is its start page (default index.html). Debian ships many more:
python-django-doc, sphinx-doc, python-flask-doc, mkdocs-doc (MkDocs), mkdocs-literate-
nav-doc (Material), rust-doc (the book is mdBook, std is rustdoc).

Per page, the main content is located with docspasta's docs rules (so both extractors
are judged against the same blocks) and each extractor's Markdown is checked for:

- code blocks: share of main-content <pre> blocks found verbatim (whitespace-normalised)
  inside a fenced block; and share of fences carrying the language the HTML declares;
- headings: share of main-content h1-h6 found as Markdown heading lines;
- tables: share of main-content tables whose header cells appear on one table row;
- residue: lines with a permalink sign or navigation chrome left in the output.

Speed: wall time per page of each extractor on the same bytes, one process, no
contention (median and p95), and the share of pages that fell back to trafilatura.

Then (unless --no-crawl) the corpus is served on 127.0.0.1 and crawled by docspasta's
CLI at the default threshold with the paste written: generated pages left out (indexes,
search, source listings) and the paste's first ten section titles, the reading order a
user sees. One summary row per corpus ends the report.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docspasta.extraction.docs_rules import find_main, strip_noise, trim_tables_of_contents, whole_article  # noqa: E402
from docspasta.extraction.extract import ExtractInput, decode_html, extract_page, trafilatura_markdown  # noqa: E402
from docspasta.extraction.htmltree import drop, parse, text_of  # noqa: E402
from docspasta.extraction.markdown import _language, convert, is_layout_table  # noqa: E402

DEFAULT_CORPUS = "/usr/share/doc/python3.11/html"
RESIDUE = re.compile(
    r"¶|§|«|»|^\s*(Previous topic|Next topic|This Page|Show Source|Report a Bug|Navigation|Quick search|"
    r"Table of Contents|index\s*\|?\s*modules.*|previous\s*\|\s*next.*|Edit this page)\s*$",
    re.I,
)
HEADING_LINE = re.compile(r"^#{1,6} (.+)$", re.M)


@dataclass
class Tally:
    pages: int = 0
    code_in: int = 0
    code_verbatim: int = 0
    lang_declared: int = 0
    lang_kept: int = 0
    headings_in: int = 0
    headings_kept: int = 0
    tables_in: int = 0
    tables_kept: int = 0
    residue_lines: int = 0
    pages_with_residue: int = 0
    ms: list[float] = field(default_factory=list)
    markdown_ms: list[float] = field(default_factory=list)

    def row(self) -> dict[str, object]:
        return {
            "pages": self.pages,
            "code blocks verbatim in fences": _share(self.code_verbatim, self.code_in),
            "fences with declared language": _share(self.lang_kept, self.lang_declared),
            "headings kept": _share(self.headings_kept, self.headings_in),
            "tables kept": _share(self.tables_kept, self.tables_in),
            "permalink/nav lines left": self.residue_lines,
            "pages with such lines": self.pages_with_residue,
            "HTML->Markdown median ms": _ms(self.markdown_ms, statistics.median),
            "HTML->Markdown p95 ms": _ms(self.markdown_ms, _p95),
            "HTML->Markdown mean ms": _ms(self.markdown_ms, statistics.mean),
            "whole page median ms": _ms(self.ms, statistics.median),
            "whole page p95 ms": _ms(self.ms, _p95),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="*", default=[DEFAULT_CORPUS], metavar="CORPUS[@START]")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages of each corpus")
    parser.add_argument("--no-crawl", action="store_true", help="judge extraction only; do not crawl")
    parser.add_argument("--max-pages", type=int, default=2000, help="crawl budget per corpus (default 2000)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    results = []
    for spec in args.corpora:
        corpus, _, start = spec.partition("@")
        result = judge(corpus.rstrip("/"), args.limit)
        if not args.no_crawl:
            result["crawl"] = crawl(corpus.rstrip("/"), start or "index.html", args.max_pages)
        results.append(result)
        if not args.json:
            print_corpus(result)
    if args.json:
        print(json.dumps(results, indent=2))
    elif len(results) > 1 or not args.no_crawl:
        print_summary(results)


def judge(corpus: str, limit: int) -> dict[str, object]:
    files = sorted(glob.glob(f"{corpus}/**/*.html", recursive=True))
    if limit:
        files = files[:limit]
    if not files:
        sys.exit(f"no HTML files under {corpus} (apt-get install python3-doc for the default corpus)")
    ours, theirs = Tally(), Tally()
    rule_pages = fallback = 0
    for path in files:
        body = Path(path).read_bytes()
        url = "http://docs.local/" + str(Path(path).relative_to(corpus))
        reference = _reference(body)
        if reference is None:
            continue  # no main content a docs rule can locate: nothing to judge against
        rule_pages += 1

        started = time.perf_counter()
        _markdown_only(body, url)
        ours.markdown_ms.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        page = extract_page(ExtractInput(url, body, keep_html=False))
        ours.ms.append((time.perf_counter() - started) * 1000)
        fallback += page.extractor == "trafilatura"

        started = time.perf_counter()
        peer = trafilatura_markdown(decode_html(body, None), url)
        theirs.markdown_ms.append((time.perf_counter() - started) * 1000)

        _judge(ours, reference, page.markdown)
        _judge(theirs, reference, peer)

    return {
        "corpus": corpus,
        "html files": len(files),
        "pages with a docs rule": rule_pages,
        "fell back to trafilatura": _share(fallback, rule_pages),
        "docspasta": ours.row(),
        "trafilatura": theirs.row(),
        "speed-up HTML->Markdown (median)": _ratio(theirs.markdown_ms, ours.markdown_ms, statistics.median),
        "speed-up HTML->Markdown (p95)": _ratio(theirs.markdown_ms, ours.markdown_ms, _p95),
        "speed-up HTML->Markdown (mean)": _ratio(theirs.markdown_ms, ours.markdown_ms, statistics.mean),
        "trafilatura vs docspasta's whole page (median)": _ratio(theirs.markdown_ms, ours.ms, statistics.median),
    }


def crawl(corpus: str, start: str, max_pages: int) -> dict[str, object]:
    """Crawl the corpus with docspasta's CLI, the paste written; what a user reads first."""
    from crawl import serve  # bench/crawl.py: nginx if installed, else Python's server

    workdir = Path(tempfile.mkdtemp(prefix="bench-fidelity-"))
    db, paste = workdir / "jobs.db", workdir / "paste.md"
    with serve(Path(corpus)) as base:
        host = base.split("//", 1)[1]
        command = [sys.executable, "-m", "docspasta", "crawl", f"{base}/{start}", "--db", str(db), "--quiet",
                   "--json", "--max-pages", str(max_pages), "--depth", "100", "--allow-host", host,
                   "--out", str(paste)]  # fmt: skip
        summary = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    text = paste.read_text()
    titles = re.findall(r"^---\n\n## (.+)$", text, re.M)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        generated = dict(conn.execute(
            "SELECT reason, count(*) FROM pages WHERE job_id = ? AND reason LIKE 'generated page (%' GROUP BY reason",
            (summary["job_id"],),
        ).fetchall())  # fmt: skip
    return {
        "completed": summary["completed"],
        "paste sections": len(titles),
        "paste lines": text.count("\n"),
        "generated pages left out": sum(generated.values()),
        "generated by kind": {k.removeprefix("generated page (").rstrip(")"): v for k, v in generated.items()},
        "index sections in the paste": sum(t.strip().lower() in ("index", "general index") for t in titles),
        "first ten sections": titles[:10],
        "paste": str(paste),
    }


def print_corpus(result: dict[str, object]) -> None:
    print(f"corpus: {result['corpus']}  ({result['html files']} HTML files, {result['pages with a docs rule']} with "
          f"a docs rule, {result['fell back to trafilatura']} fell back to trafilatura)\n")  # fmt: skip
    ours, theirs = result["docspasta"], result["trafilatura"]
    assert isinstance(ours, dict) and isinstance(theirs, dict)
    print(f"{'':34}{'docspasta':>14}{'trafilatura':>14}")
    for key in ours:
        print(f"{key:34}{_fmt(ours[key]):>14}{_fmt(theirs[key]):>14}")
    print()
    for key in [k for k in result if k.startswith(("speed-up", "trafilatura vs"))]:
        print(f"{key}: {result[key]}x")
    if isinstance(crawled := result.get("crawl"), dict):
        left_out = f"{crawled['generated pages left out']} generated pages left out {crawled['generated by kind']}"
        print(f"\ncrawl: {crawled['completed']} pages, {left_out}, paste {crawled['paste lines']:,} lines "
              f"({crawled['paste']})")  # fmt: skip
        print("first ten sections: " + " | ".join(crawled["first ten sections"]))  # type: ignore[arg-type]
    print("\n" + "-" * 80 + "\n")


def print_summary(results: list[dict[str, object]]) -> None:
    print("| corpus | pages | code verbatim in fences | headings kept | tables kept | generated left out | "
          "first ten sections of the paste |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for r in results:
        ours = r["docspasta"]
        crawled = r.get("crawl") or {}
        assert isinstance(ours, dict) and isinstance(crawled, dict)
        first = "; ".join(crawled.get("first ten sections", []))
        print(f"| {_name(str(r['corpus']))} | {ours['pages']} | "
              f"{_fmt(ours['code blocks verbatim in fences'])} | {_fmt(ours['headings kept'])} | "
              f"{_fmt(ours['tables kept'])} | {crawled.get('generated pages left out', '-')} | {first} |")  # fmt: skip


@dataclass
class Reference:
    codes: list[tuple[str, str]]  # (normalised code, declared language)
    tables: list[list[str]]  # header cells, normalised
    headings: list[str] = field(default_factory=list)  # h1-h6 text, normalised


def _reference(body: bytes) -> Reference | None:
    tree = parse(decode_html(body, None))
    found = find_main(tree) if tree is not None else None
    if found is None:
        return None
    main = whole_article(found[1])
    strip_noise(main)
    trim_tables_of_contents(main)
    for back_link in main.xpath(".//a[contains(@class, 'viewcode-back')]"):  # a source listing's "[docs]"
        drop(back_link)
    headings = [_norm(text_of(h)) for h in main.iter("h1", "h2", "h3", "h4", "h5", "h6")]
    codes = []
    for pre in main.xpath(".//pre[not(ancestor::pre)]"):
        for br in pre.iter("br"):
            br.tail = "\n" + (br.tail or "")
        code = _norm(text_of(pre))
        if code:
            codes.append((code, _language(pre)))
    tables = []
    for table in main.xpath(".//table[not(ancestor::table)]"):
        if is_layout_table(table):
            continue
        rows = table.xpath("./tr | ./thead/tr | ./tbody/tr")
        cells = [_norm(text_of(c)) for c in rows[0].xpath("./th | ./td")] if rows else []
        if len(cells) > 1 and any(cells):
            tables.append(cells)
    return Reference(codes, tables, [h for h in headings if h])


def _judge(tally: Tally, reference: Reference, markdown: str) -> None:
    tally.pages += 1
    fences = _fences(markdown)
    bodies = {_norm(code) for _, code in fences}
    languages = {_norm(code): lang for lang, code in fences}
    for code, declared in reference.codes:
        tally.code_in += 1
        inside = code in bodies or any(code in b for b in bodies)
        tally.code_verbatim += inside
        if declared:
            tally.lang_declared += 1
            tally.lang_kept += inside and languages.get(code) == declared
    heading_lines = [_plain_heading(h) for h in HEADING_LINE.findall("\n".join(_outside_fences(markdown)))]
    for heading in reference.headings:
        tally.headings_in += 1
        text = "".join(re.sub(r"[*`]", "", heading).split())  # as _plain_heading leaves a line
        tally.headings_kept += any(text in line for line in heading_lines)
    table_rows = [_plain(line) for line in markdown.splitlines() if line.lstrip().startswith("|")]
    html_tables = _plain(" ".join(re.findall(r"<table.*?</table>", markdown, re.S)))
    for cells in reference.tables:
        tally.tables_in += 1
        tally.tables_kept += any(all(c in row for c in cells if c) for row in table_rows) or (
            bool(html_tables) and all(c in html_tables for c in cells if c)
        )
    residue = [line for line in _outside_fences(markdown) if RESIDUE.search(line)]
    tally.residue_lines += len(residue)
    tally.pages_with_residue += bool(residue)


_OPEN = re.compile(r"^((?:[ \t]*>[ \t]?)*)([ \t]*)(`{3,}|~{3,})[ \t]*([\w+#.-]*)")


def _fences(markdown: str) -> list[tuple[str, str]]:
    """(language, code) of every fenced block, inside quotes and list items too: the quote
    prefix and indent of the opening fence are stripped from the block's lines, nothing more."""
    out: list[tuple[str, str]] = []
    fence = None
    for line in markdown.split("\n"):
        if fence is None:
            if m := _OPEN.match(line):
                prefix, indent, fence, lang, current = m.group(1), len(m.group(2)), m.group(3), m.group(4), []
            continue
        body = line[len(prefix) :] if line.startswith(prefix) else line.lstrip(" >")
        if body.strip() == fence:
            out.append((lang, "\n".join(current)))
            fence = None
        else:
            current.append(body[indent:] if not body[:indent].strip() else body)
    return out


_QUOTE = re.compile(r"^(\s*>\s?)+")


def _outside_fences(markdown: str) -> list[str]:
    lines, inside = [], False
    for line in markdown.split("\n"):
        if re.match(r"^\s*(`{3,}|~{3,})", _QUOTE.sub("", line)):
            inside = not inside
        elif not inside:
            lines.append(line)
    return lines


def _plain(markdown: str) -> str:
    """Text of Markdown or HTML without its markup, for comparing with the page's text."""
    text = re.sub(r"<[^>]+>", " ", markdown)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*`]|\\(?=\|)", "", text)
    return _norm(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def _plain_heading(line: str) -> str:
    """A Markdown heading's text: links and emphasis gone, `<` kept (rustdoc's `impl<T>`)."""
    text = re.sub(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\([^)]*\)", r"\1", line)  # link text may hold [T]
    return "".join(re.sub(r"[*`]|\\(?=[|*_`\[\]<>])", "", text).split())  # spacing of wrapped signatures aside


def _markdown_only(body: bytes, url: str) -> str:
    """docspasta's HTML-to-Markdown path alone: the work trafilatura.extract does."""
    tree = parse(decode_html(body, None))
    found = find_main(tree) if tree is not None else None
    if found is None:
        return trafilatura_markdown(decode_html(body, None), url)
    main = whole_article(found[1])
    strip_noise(main)
    trim_tables_of_contents(main)
    return convert(main, url)[0]


def _name(corpus: str) -> str:
    """A corpus's short name: its directory, or the one above a generic html/ folder."""
    path = Path(corpus)
    return path.parent.name if path.name in ("html", "doc", "docs") else path.name


def _ms(values: list[float], how) -> float | None:
    return round(how(values), 2) if values else None


def _ratio(slow: list[float], fast: list[float], how) -> float | None:
    return round(how(slow) / how(fast), 1) if slow and fast else None


def _norm(text: str) -> str:
    return " ".join(text.split())


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}% ({part}/{whole})" if whole else "n/a"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _fmt(value: object) -> str:
    return str(value).split(" (")[0] if isinstance(value, str) else str(value)


if __name__ == "__main__":
    main()
