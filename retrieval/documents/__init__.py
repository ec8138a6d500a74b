"""Documents in: find and read files, split them into passages, embed them, ingest them into the store."""
