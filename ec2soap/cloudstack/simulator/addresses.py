"""Simulator: addresses (being written)."""
COMMANDS: dict = {}
