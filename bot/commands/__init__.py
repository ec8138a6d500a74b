"""Commands beyond the basic ones, one module per subject; each is registered in bot/cli.py."""
