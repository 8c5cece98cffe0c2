"""Queries. Every function takes a session and never makes one (the caller owns the transaction)."""
