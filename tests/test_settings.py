from __future__ import annotations

import dataclasses

import pytest

import docspasta
from docspasta import PRESETS, CrawlSettings, InvalidSettingError, InvalidURLError
from docspasta.settings import field_docs


def test_every_setting_is_documented_once():
    docs = field_docs()
    assert set(docs) == {f.name for f in dataclasses.fields(CrawlSettings)}
    assert all(len(text) > 15 for text in docs.values())


def test_defaults_match_the_contract():
    s = CrawlSettings(url="https://docs.example.org/")
    assert (s.max_pages, s.max_depth, s.quality_threshold, s.strategy, s.keep_html) == (50, 2, 20, "bfs", True)


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"url": "notaurl"}, "url", "http:// or https://"),
        ({"url": "ftp://example.org/"}, "url", "(got ftp://)"),
        ({"url": "https:///nohost"}, "url", "host name"),
        ({"max_depth": -1}, "max_depth", "from 0 to 100"),
        ({"concurrency": 0}, "concurrency", "from 1 to 256"),
        ({"max_pages": 2.5}, "max_pages", "whole number"),
        ({"max_pages": True}, "max_pages", "whole number"),
        ({"quality_threshold": 101}, "quality_threshold", "from 0 to 100"),
        ({"timeout": float("nan")}, "timeout", "a number"),
        ({"include": ("",)}, "include", "non-empty glob"),
        ({"scope_prefix": "docs/"}, "scope_prefix", "starting with '/'"),
        ({"strategy": "random"}, "strategy", "one of bfs"),
        ({"keep_html": "yes"}, "keep_html", "true or false"),
    ],
)
def test_invalid_values_name_the_field_value_and_range(changes, field, expected):
    with pytest.raises(InvalidSettingError) as info:
        CrawlSettings(**{"url": "https://docs.example.org/", **changes})
    assert info.value.field == field
    assert expected in str(info.value)
    assert str(info.value).startswith(f"{field}: ")


def test_bad_urls_raise_the_url_error_type():
    with pytest.raises(InvalidURLError):
        CrawlSettings(url="javascript:alert(1)")


def test_json_round_trip_and_unknown_keys():
    s = CrawlSettings(url="https://x.org/d/", include=("/d/**",), headers=(("X-Token", "t"),), timeout=3)
    assert CrawlSettings.from_json(s.to_json()) == s
    assert CrawlSettings.from_dict({"url": "https://x.org/", "headers": {"A": "b"}}).headers == (("A", "b"),)
    with pytest.raises(InvalidSettingError, match="max_pagez"):
        CrawlSettings.from_dict({"url": "https://x.org/", "max_pagez": 3})


def test_settings_are_frozen():
    s = CrawlSettings(url="https://x.org/")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.max_pages = 3  # type: ignore[misc]


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_are_valid_settings(name):
    s = CrawlSettings(url="https://x.org/", **PRESETS[name])
    assert s.batch_size == PRESETS[name]["batch_size"]


def test_public_api_is_pinned():
    assert sorted(docspasta.__all__) == [
        "ChangeReport",
        "CrawlSettings",
        "DocspastaError",
        "ExtractionError",
        "FetchError",
        "InvalidSettingError",
        "InvalidURLError",
        "JobBusyError",
        "JobNotFoundError",
        "JobResult",
        "NotARefreshError",
        "PRESETS",
        "RefreshRefusedError",
        "StoreError",
        "changes",
        "crawl",
        "crawl_async",
        "refresh",
        "refresh_async",
        "resume",
        "resume_async",
    ]
    for name in docspasta.__all__:
        assert getattr(docspasta, name) is not None


def test_api_crawl_rejects_bad_input_before_touching_disk(tmp_path):
    with pytest.raises(InvalidSettingError, match="max_depth"):
        docspasta.crawl("https://x.org/", db=tmp_path / "x.db", max_depth=-1)
    assert not (tmp_path / "x.db").exists()


def test_readme_settings_table_matches_the_code():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells[-1]
    assert rows == field_docs()
