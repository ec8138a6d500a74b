"""Reaching a hosted or distributed Chroma: tenant and database, token auth and TLS, against a real `chroma run`.

`chroma run` has no authentication of its own (see tests/helpers/chroma_server.py), so token auth and
TLS are tested through `TokenGate`, a loopback proxy in front of the real server that refuses a
request without the token (401) and speaks HTTPS with a test CA. Each client keeps its local cache
under its own XDG_CACHE_HOME.
"""

from __future__ import annotations

import logging

import msgspec
import pytest

from retrieval.errors import StoreError
from tests.helpers import ROOT
from tests.helpers.chroma_server import ChromaRun, TokenGate, tls_context_and_ca

TOKEN = "ck-TESTtokenNOTreal-7f3a9c2e41d8b6"
QUESTION = "From which city did Interfax report Lavrov's comments?"


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    server = ChromaRun(tmp_path_factory.mktemp("chroma-access"))
    yield server
    server.stop()


def _ingest_and_answer(settings, embedder):
    from retrieval.documents.ingest import ingest
    from retrieval.engine import Engine
    from retrieval.storage.index import Index

    index = Index.open(settings, create=True, embedder=embedder)
    report = ingest(settings, [ROOT / "seeds"], index=index)
    answer = Engine(settings, index).answer(QUESTION)
    index.close()
    return report, answer


def _open(settings, embedder):
    from retrieval.storage.index import Index

    return Index.open(settings, embedder=embedder)


def test_a_tenant_and_database_of_their_own(chroma, make_settings, embedder, tmp_path, monkeypatch):
    from retrieval.storage.index import catalog_path
    from retrieval.storage.vectors import make_client

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    base = {"chroma_host": "127.0.0.1", "chroma_port": chroma.port, "collection": "access-tenancy"}
    settings = make_settings(**base, chroma_tenant="acme", chroma_database="newsroom")
    report, answer = _ingest_and_answer(settings, embedder)  # the first ingest makes tenant and database
    assert report.added == 1 and answer.answerable
    assert any("Hamburg" in c.quote for c in answer.citations)
    inside = make_client(settings).get_collection("access-tenancy")
    assert inside.count() == report.passages
    default = make_settings(**base)
    assert "access-tenancy" not in [c.name for c in make_client(default).list_collections()]
    assert catalog_path(settings) != catalog_path(default)  # one cache per database
    with pytest.raises(StoreError, match="does not exist yet"):
        _open(default, embedder)
    with pytest.raises(StoreError, match="RAGBOT_CHROMA_DATABASE") as missing:
        _open(make_settings(**base, chroma_tenant="acme", chroma_database="nowhere"), embedder)
    assert "nowhere" in str(missing.value)


@pytest.mark.parametrize("header", ["Authorization", "X-Chroma-Token"])
def test_token_auth_lets_the_token_through_and_a_wrong_one_is_a_clear_error(
    chroma, header, make_settings, embedder, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    gate = TokenGate(chroma.port, TOKEN, header)
    try:
        base = {"chroma_host": "127.0.0.1", "chroma_port": gate.port, "collection": f"access-{header.lower()}"}
        with caplog.at_level(logging.DEBUG):
            settings = make_settings(**base, chroma_auth_token=TOKEN, chroma_auth_header=header)
            report, answer = _ingest_and_answer(settings, embedder)
            assert report.added == 1 and answer.answerable
            assert gate.served > 0 and gate.refused == 0
            for token in (None, "ck-WRONGtoken-000000000000"):
                with pytest.raises(StoreError) as refused:
                    _open(make_settings(**base, chroma_auth_token=token, chroma_auth_header=header), embedder)
                assert "RAGBOT_CHROMA_AUTH_TOKEN" in str(refused.value)
                assert TOKEN not in str(refused.value) and "WRONG" not in str(refused.value)
            assert gate.refused >= 2
        assert TOKEN not in caplog.text and TOKEN[10:20] not in caplog.text
        assert TOKEN not in repr(settings) and TOKEN not in str(msgspec.to_builtins(settings, enc_hook=str))
    finally:
        gate.close()


def test_tls_with_a_ca_file_or_without_verification(chroma, make_settings, embedder, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    context, ca_file = tls_context_and_ca(tmp_path)
    gate = TokenGate(chroma.port, TOKEN, tls_context=context)
    try:
        base = {
            "chroma_host": "127.0.0.1",
            "chroma_port": gate.port,
            "collection": "access-tls",
            "chroma_auth_token": TOKEN,
        }
        report, answer = _ingest_and_answer(make_settings(**base, chroma_ssl=True, chroma_ca_file=ca_file), embedder)
        assert report.added == 1 and answer.answerable and gate.served > 0
        _open(make_settings(**base, chroma_ssl=True, chroma_ssl_verify=False), embedder).close()
        with pytest.raises(StoreError, match="RAGBOT_CHROMA_CA_FILE"):  # the test CA is not a trusted one
            _open(make_settings(**base, chroma_ssl=True), embedder)
        with pytest.raises(StoreError, match="RAGBOT_CHROMA_SSL"):  # plain HTTP to an HTTPS port
            _open(make_settings(**base), embedder)
    finally:
        gate.close()
