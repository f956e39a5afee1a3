"""Simulator: vms (being written)."""
COMMANDS: dict = {}
