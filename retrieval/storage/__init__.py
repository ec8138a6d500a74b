"""Storage: the Chroma vectors, the SQLite catalog (texts, live flags, BM25) and the index that joins them."""
