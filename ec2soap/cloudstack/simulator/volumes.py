"""Simulator: volumes (being written)."""
COMMANDS: dict = {}
