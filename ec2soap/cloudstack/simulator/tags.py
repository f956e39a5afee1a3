"""Simulator: tags (being written)."""
COMMANDS: dict = {}
