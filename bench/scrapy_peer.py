"""The peer: a Scrapy CrawlSpider that turns every page in scope into Markdown with trafilatura.

    python bench/scrapy_peer.py START_URL OUT_JSONL [--concurrency N]

What a careful user of the most trusted crawler would write: follow links under the
start page's directory, extract each page with trafilatura (the same options
docspasta's fallback uses), write one JSON line per page. Same politeness as
docspasta: obey robots.txt, no delay, the same concurrency, no HTTP cache.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

import trafilatura
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule


class DocsSpider(CrawlSpider):
    name = "docs"

    def __init__(self, start: str, out: str, **kwargs) -> None:
        parts = urlsplit(start)
        prefix = parts.path.rsplit("/", 1)[0] + "/"
        self.start_urls = [start]
        self.allowed_domains = [parts.hostname]
        self.rules = (Rule(LinkExtractor(allow=(rf"^{parts.scheme}://{parts.netloc}{prefix}",)), callback="parse_item",
                           follow=True),)  # fmt: skip
        self._out = open(out, "w", encoding="utf-8")  # noqa: SIM115 - closed in closed()
        super().__init__(**kwargs)

    def parse_start_url(self, response):
        return self.parse_item(response)

    def parse_item(self, response):
        if not hasattr(response, "text"):
            return
        markdown = trafilatura.extract(
            response.text, url=response.url, output_format="markdown", include_tables=True,
            include_formatting=True, include_links=False, include_images=False, include_comments=False,
            favor_recall=True, with_metadata=False, deduplicate=False,
        ) or ""  # fmt: skip
        self._out.write(json.dumps({"url": response.url, "chars": len(markdown)}) + "\n")

    def closed(self, reason: str) -> None:
        self._out.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("start")
    parser.add_argument("out")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    process = CrawlerProcess(
        settings={
            "LOG_LEVEL": "ERROR",
            "ROBOTSTXT_OBEY": True,
            "CONCURRENT_REQUESTS": args.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
            "DOWNLOAD_DELAY": 0,
            "HTTPCACHE_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
            "DEPTH_LIMIT": 0,
        }
    )
    process.crawl(DocsSpider, start=args.start, out=args.out)
    process.start()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
