"""`ragbot ingest https://...`: a page fetched from a loopback server started by the test, extracted as
a saved .html file is, recorded under its URL; re-ingesting updates it; 404s, timeouts, other content
types, pages over the size limit and other schemes are clear errors that lose nothing."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from bot.cli import cli
from retrieval.documents.fetch import FetchError, fetch_document
from retrieval.documents.ingest import ingest, remove
from retrieval.documents.load import SkipReason
from retrieval.documents.stored_text import document_text, open_citation
from retrieval.engine import Engine
from retrieval.errors import InputError
from retrieval.storage.index import Index
from tests.helpers.web_server import WebServer
from tests.test_document_kinds import BOILERPLATE, PAGES

RAIL = (PAGES / "rail.html").read_bytes()


@pytest.fixture
def web():
    with WebServer() as server:
        server.pages["/rail"] = (200, "text/html; charset=utf-8", RAIL)
        yield server


@pytest.fixture
def store(make_settings, embedder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = make_settings(fetch_timeout=2.0, fetch_max_bytes=200_000)
    return settings, Index.open(settings, create=True, embedder=embedder)


def test_a_url_is_fetched_extracted_cited_and_updated(web, store):
    settings, index = store
    url = web.url("/rail")
    report = ingest(settings, [url], index=index)
    assert (report.added, report.paths) == (1, [url])
    info = index.catalog.document(url)
    assert info is not None and info.title == "Rail workers strike over pay offer | The Morning Ledger"
    assert info.date == "2026-03-10"
    text = document_text(index, url)
    assert not any(word in text for word in BOILERPLATE)
    answer = Engine(settings, index).answer("How many union members voted for the rail strike?")
    first = answer.citations[0]
    assert first.source == url and "40,000" in first.quote and first.date == "2026-03-10"
    assert text[first.start : first.end] == first.quote
    opened = open_citation(index, url, first.start, first.end)
    assert opened.quote == first.quote and "not fetched again" in opened.changed

    assert ingest(settings, [url], index=index).unchanged == 1
    web.pages["/rail"] = (200, "text/html", RAIL.replace(b"40,000 members", b"45,000 members"))
    report = ingest(settings, [url], index=index)
    assert (report.updated, report.added) == (1, 0)
    answer = Engine(settings, index).answer("How many union members voted for the rail strike?")
    assert "45,000" in answer.citations[0].quote
    assert remove(settings, [url], index=index) == {url: 4}
    assert index.catalog.document(url) is None


def test_redirects_are_followed_and_the_given_url_is_the_source(web, store):
    settings, index = store
    web.redirects["/old"] = "/rail"
    doc = fetch_document(web.url("/old"), settings)
    assert doc.source == web.url("/old") and "40,000" in doc.text


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda web: web.pages.pop("/rail"), "HTTP 404 Not Found"),
        (
            lambda web: web.pages.update({"/rail": (200, "application/pdf", b"%PDF-1.4")}),
            "content type is application/pdf",
        ),
        (lambda web: web.pages.update({"/rail": (200, "text/html", RAIL * 100)}), "over the 200,000-byte limit"),
        (lambda web: web.delays.update({"/rail": 4.0}), "no answer within 2 s (RAGBOT_FETCH_TIMEOUT)"),
    ],
    ids=["404", "wrong-content-type", "too-large", "timeout"],
)
def test_fetch_errors_are_clear_and_keep_what_was_ingested(web, store, setup, message):
    settings, index = store
    url = web.url("/rail")
    ingest(settings, [url], index=index)
    before = index.catalog.live_ids(url)
    setup(web)
    with pytest.raises(FetchError, match=re.escape(message)):
        fetch_document(url, settings)
    report = ingest(settings, [url], index=index)
    assert [(s.path, s.reason) for s in report.failed] == [(url, SkipReason.NOT_FETCHED)]
    assert message in str(report.failed[0])
    assert index.catalog.live_ids(url) == before  # the page ingested before keeps its passages


def test_other_schemes_are_refused_before_the_store_is_touched(store):
    settings, index = store
    with pytest.raises(InputError, match="only http and https"):
        ingest(settings, ["ftp://127.0.0.1/rail.html"], index=index)
    with pytest.raises(InputError, match="only http and https"):
        ingest(settings, ["file:///etc/passwd"], index=index)
    assert index.catalog.documents() == []


def test_the_cli_ingests_a_url_and_exits_2_for_one_it_cannot_fetch(web, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".ragbot").mkdir()
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", web.url("/rail"), web.url("/missing")], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "1 new" in result.stdout
    assert f"skipped {web.url('/missing')}: could not be fetched (HTTP 404 Not Found)" in result.stderr
    listing = runner.invoke(cli, ["sources"], catch_exceptions=False)
    assert web.url("/rail") in listing.stdout and "(2026-03-10)" in listing.stdout
