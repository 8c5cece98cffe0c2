"""Feeds in: fetch (SSRF-guarded, conditional), parse and normalise, store without duplicates."""
