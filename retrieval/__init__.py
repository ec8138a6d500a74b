"""ragbot's core: ingest documents and answer questions about them with exact cited quotes.

Front-ends use `retrieval.ingest.ingest`, `retrieval.answer.Engine` and the dataclasses in
`retrieval.schema`. Nothing here prints, reads the environment at import, or imports a front-end.
"""
