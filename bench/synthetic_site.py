"""A generated documentation site of N interlinked pages, for flat-cost checks at scale.

    python bench/synthetic_site.py OUT_DIR [N]

Sphinx-shaped pages (a sidebar, a `div.body[role=main]` with sections, prose, a code
block, a table, permalinks, prev/next) under /docs/: an index of sections, each section
an index of its pages, and every page linking to its neighbours, a few pages in other
sections and its section index. So the link graph is wide and shallow like real docs,
and every page has a unique body (no near-duplicate shortcuts).
"""

from __future__ import annotations

import html
import random
import sys
from pathlib import Path

PAGES_PER_SECTION = 100
WORDS = (
    "request response client server stream buffer token parser schema config option default value handler "
    "callback event loop task thread process queue cache index table column row field record module package "
    "function method class object instance attribute argument parameter return error exception timeout retry"
).split()


def generate(root: Path, n: int, *, seed: int = 7) -> None:
    rng = random.Random(seed)
    sections = max(1, -(-n // PAGES_PER_SECTION))
    docs = root / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    index_links = "".join(f'<li><a href="s{s}/index.html">Section {s}</a></li>' for s in range(sections))
    (docs / "index.html").write_text(_page("Synthetic documentation", f"<ul>{index_links}</ul>", ""))
    made = 0
    for s in range(sections):
        count = min(PAGES_PER_SECTION, n - made)
        folder = docs / f"s{s}"
        folder.mkdir(exist_ok=True)
        links = "".join(f'<li><a href="p{p}.html">Page {s}.{p}</a></li>' for p in range(count))
        (folder / "index.html").write_text(_page(f"Section {s}", f"<ul>{links}</ul>", ""))
        for p in range(count):
            body = _body(rng, s, p)
            related = [(rng.randrange(sections), rng.randrange(PAGES_PER_SECTION)) for _ in range(3)]
            nav = [f'<a href="p{q}.html">Page {s}.{q}</a>' for q in (p - 1, p + 1) if 0 <= q < count]
            nav += [f'<a href="../s{rs}/p{rp}.html">Page {rs}.{rp}</a>' for rs, rp in related if rp < _size(rs, n)]
            (folder / f"p{p}.html").write_text(_page(f"Page {s}.{p}", body, " | ".join(nav)))
        made += count


def _size(section: int, n: int) -> int:
    return min(PAGES_PER_SECTION, n - section * PAGES_PER_SECTION)


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    return " ".join(words).capitalize() + "."


def _body(rng: random.Random, s: int, p: int) -> str:
    parts = []
    for h in range(3):
        prose = " ".join(_sentence(rng) for _ in range(5))
        code = "\n".join(f"    result_{i} = client.{rng.choice(WORDS)}({rng.randint(0, 99)})" for i in range(4))
        parts.append(
            f'<section id="part-{h}"><h2>Part {h} of page {s}.{p}<a class="headerlink" href="#part-{h}">¶</a></h2>'
            f"<p>{html.escape(prose)}</p>"
            f'<div class="highlight-python notranslate"><div class="highlight"><pre>def example_{s}_{p}_{h}():\n'
            f"{html.escape(code)}\n    return result_0</pre></div></div>"
            f"<table><thead><tr><th>option</th><th>default</th></tr></thead><tbody>"
            f"<tr><td>{rng.choice(WORDS)}</td><td>{rng.randint(0, 999)}</td></tr></tbody></table></section>"
        )
    return "".join(parts)


def _page(title: str, body: str, nav: str) -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"
        f'<div class="related" role="navigation"><a href="/docs/index.html">index</a></div>'
        f'<div class="document"><div class="body" role="main"><section id="top"><h1>{html.escape(title)}</h1>'
        f"{body}</section></div></div>"
        f'<div class="sphinxsidebar" role="navigation"><h3>Navigation</h3>{nav}</div>'
        f"<footer>Synthetic docs footer.</footer></body></html>"
    )


if __name__ == "__main__":
    generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 20_000)
