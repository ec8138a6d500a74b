"""`ragbot eval` and `ragbot bench`: answer quality on Q&A sets, and speed and memory.

Evaluation: dataset.py reads our JSONL sets, squad.py SQuAD v2.0 files (answered from a temporary
collection); metrics.py holds the pure metric definitions; run.py answers every question with the
same `Engine.answer()` the bot uses and grades it; summary.py builds summary.json and reads a
baseline; report.py writes the results folder; calibrate.py sweeps the refusal threshold.
Bench: bench.py times ingest, answers, retrieval at scale and a cold start; bench_corpus.py makes
the corpora it runs on. Everything here returns data or writes files; the CLI prints (terminal.py).
"""
