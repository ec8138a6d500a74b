"""Discord cogs, one per file, each ending in `async def setup(bot)`."""
