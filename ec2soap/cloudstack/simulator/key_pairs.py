"""Simulator: key_pairs (being written)."""
COMMANDS: dict = {}
