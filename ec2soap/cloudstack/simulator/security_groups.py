"""Simulator: security_groups (being written)."""
COMMANDS: dict = {}
