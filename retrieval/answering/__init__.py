"""Answering: the question as a query, hybrid retrieval, evidence scoring and the extractive answer."""
