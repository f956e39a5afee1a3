"""Simulator: templates (being written)."""
COMMANDS: dict = {}
