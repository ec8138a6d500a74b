"""The bot's features, one cog per file, each ending in `async def setup(bot)`: /ask, /about, and
questions by mention, thread or DM. Shared machinery (answering, sending, failures) is RagBot's."""
