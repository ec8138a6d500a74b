"""`ragbot eval`: score the engine's answers on a Q&A set (ours in JSONL, or SQuAD v2.0 JSON).

dataset.py reads the sets, metrics.py holds the pure metric definitions, run.py answers every
question with the same `Engine.answer()` the bot uses, report.py writes the results folder,
calibrate.py sweeps the refusal threshold and squad.py handles SQuAD files.
"""
