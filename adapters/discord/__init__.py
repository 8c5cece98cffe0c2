"""Discord: discord.py adapter and embed rendering."""
