"""`ragbot bench`: its JSON contract, its synthetic corpus and one small end-to-end run (no timing asserted)."""

from __future__ import annotations

import json
from dataclasses import fields

import numpy as np
import pytest
from click.testing import CliRunner

from bot.evaluation import bench, bench_corpus, bench_scale
from bot.terminal import bench_table, scale_table
from retrieval import ConfigError, Index, write_synthetic
from tests.helpers import ARTICLE, ROOT

ISSUE_KEYS = [
    "embed_raw_per_s",
    "ingest_per_s",
    "ingest_ratio",
    "answer_ms_p50",
    "answer_ms_p95",
    "n_passages",
    "retrieve_ms_p50",
    "retrieve_ms_p95",
    "cold_ask_s",
    "cold_ask_peak_rss_mb",
    "chat_ready_s",
    "textbook_s",
    "textbook_peak_rss_mb",
    "cold_ratio",
]


def test_the_result_has_exactly_the_issue_keys():
    assert [f.name for f in fields(bench.BenchResult)] == ISSUE_KEYS


def test_the_table_names_missed_targets():
    result = bench.BenchResult(100.0, 95.0, 0.95, 12.0, 50.0, 1000, 20.0, 30.0, 1.5, 390.0, 1.2)
    lines = {line.split()[0]: line for line in bench_table(result).splitlines()[1:]}
    assert lines["ingest_ratio"].endswith("ok") and lines["answer_ms_p50"].endswith("ok")
    assert lines["answer_ms_p95"].endswith("MISSED")
    assert lines["chat_ready_s"].endswith("MISSED")
    assert lines["cold_ratio"].split()[1] == "n/a" and lines["cold_ratio"].endswith("not measured")
    assert "target" not in lines["n_passages"] and lines["n_passages"].split()[1] == "1,000"


def test_synthetic_passages_are_deterministic_and_shaped_like_the_article():
    first = list(bench_corpus.synthetic_passages(500, [ARTICLE]))
    again = list(bench_corpus.synthetic_passages(500, [ARTICLE]))
    assert first == again and len({p.id for p in first}) == 500
    assert len({p.source for p in first}) == 500 // bench_corpus.PASSAGES_PER_DOC
    mean = sum(len(p.text) for p in first) / len(first)
    assert 80 < mean < 360 and all(p.text.endswith(".") for p in first)
    words = {w for p in first for w in p.text.lower().replace(".", "").split()}
    assert {"lavrov", "aleppo"} & words  # the article's words are among the common ones


def test_a_small_bench_run_prints_every_key(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(bench.Plan, "make", classmethod(lambda cls, quick: cls(40, 1, 1, 1, 1)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAGBOT_SEEDS_DIR", str(ROOT / "seeds"))
    from bot.cli import cli

    out = CliRunner().invoke(cli, ["bench", "--quick", "--chunks", "1000", "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert list(result) == ISSUE_KEYS
    assert result["n_passages"] == 1000
    assert all(result[k] > 0 for k in ISSUE_KEYS)
    assert abs(result["ingest_ratio"] - result["ingest_per_s"] / result["embed_raw_per_s"]) < 0.01
    assert abs(result["cold_ratio"] - result["cold_ask_s"] / result["textbook_s"]) < 0.01  # the peer ran too
    assert (tmp_path / "cache" / "ragbot" / "bench").is_dir()  # the corpus is cached for the next run


def test_write_synthetic_keeps_each_document_whole_and_the_store_opens(make_settings, embedder):
    settings = make_settings()
    passages = list(bench_corpus.synthetic_passages(250, [ARTICLE]))  # documents of 100, 100 and 50 passages
    written = []
    assert write_synthetic(settings, passages, embedder, batch_size=60, progress=written.append) == 250
    assert written == [100, 200, 250]  # a batch ends on a document boundary
    index = Index.open(settings, embedder=embedder)
    assert [d.passages for d in index.catalog.documents()] == [100, 100, 50]
    assert index.catalog.live_count() == index.vectors.count() == 250
    index.close()
    with pytest.raises(ConfigError, match="local store only"):
        write_synthetic(settings.replace(chroma_host="localhost"), passages, embedder)


def test_a_scale_run_gives_a_row_per_size_and_draws_the_curve(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAGBOT_SEEDS_DIR", str(ROOT / "seeds"))
    from bot.cli import cli

    out = CliRunner().invoke(cli, ["bench", "--scale", "2000,1000", "--quick", "--json", "--png", "curve.png"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert [p["passages"] for p in result["points"]] == [1000, 2000]
    for point in result["points"]:
        assert point["build_s"] > 0 and point["retrieve_ms_p95"] >= point["retrieve_ms_p50"] > 0
        assert point["query_peak_rss_mb"] > 50 and point["cold_ask_s"] > 0
        assert set(point["stages_ms"]) == {*bench_scale.STAGES, "other"}
        assert point["stages_ms"]["embed"] > 0 and point["stages_ms"]["dense"] > 0
    assert result["fastest_stage"] in bench_scale.STAGES
    assert "without the embedder" in result["note"]
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    scaled = bench_scale.ScaleResult([bench_scale.ScalePoint(**p) for p in result["points"]], png="curve.png")
    table = scale_table(scaled)
    assert "1,000" in table and "2,000" in table and "curve: curve.png" in table and "grew most" in table


def test_scale_sizes_are_checked():
    from bot.cli import cli

    for bad in ("10k", "500", "0,1000"):
        out = CliRunner().invoke(cli, ["bench", "--scale", bad])
        assert out.exit_code == 2 and "--scale" in out.output, out.output


def test_synthetic_vectors_are_perturbed_real_ones(make_settings, embedder):
    settings = make_settings()
    passages = list(bench_corpus.synthetic_passages(200, [ARTICLE]))
    basis = bench_corpus.real_vectors(settings, embedder)
    write_synthetic(settings, passages, embedder, basis=basis, noise=bench_corpus.VECTOR_NOISE)
    index = Index.open(settings, embedder=embedder)
    stored = index.vectors.collection.get(ids=[p.id for p in passages[:50]], include=["embeddings"])["embeddings"]
    index.close()
    nearest = (np.asarray(stored) @ basis.T).max(axis=1)
    assert np.allclose(np.linalg.norm(stored, axis=1), 1.0, atol=1e-3)
    assert 0.5 < float(np.median(nearest)) < 0.9  # near a real passage vector, not on it
    isotropic = np.random.default_rng(1).standard_normal((50, basis.shape[1]))
    isotropic /= np.linalg.norm(isotropic, axis=1, keepdims=True)
    assert float(np.median((isotropic @ basis.T).max(axis=1))) < 0.35  # what random vectors would give
