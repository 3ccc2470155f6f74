"""Fetching: the only network code (httpx and httpcore live here and nowhere else).

Holds the fetcher (redirects hop by hop, caps, retries, sniffing), the guarded
transport (resolve, judge the address, connect to the judged address), per-host pacing
at the wire, and bounded Content-Encoding decoding. httpx errors become docspasta's
FetchError family here.

May import: settings, errors, urls, guard, records. Never extraction, store or crawl.
"""
