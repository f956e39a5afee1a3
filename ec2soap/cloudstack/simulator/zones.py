"""Simulator: zones (being written)."""
COMMANDS: dict = {}
