"""Command-line values that may begin with '-'.

CloudStack's API and secret keys are URL-safe base64, so about one key in 32 begins with '-'. argparse takes
`--secret-key -x...` for an option without its value and stops; the original's register script took the next
word whatever it was. `glue_values` rewrites `--option VALUE` as `--option=VALUE` for the options named, before
argparse sees the list, so both spellings work for every key.
"""
from __future__ import annotations

from typing import Iterable, Sequence

__all__ = ["KEY_OPTIONS", "glue_values"]

# Every option of ours whose value is a CloudStack key.
KEY_OPTIONS = frozenset({"--apikey", "--secretkey", "--access-key", "--secret-key"})


def glue_values(argv: Sequence[str], options: Iterable[str] = KEY_OPTIONS) -> list[str]:
    """`argv` with each `OPTION VALUE` pair of the named options joined as `OPTION=VALUE`. Words after a bare
    `--` are left alone; an option at the end keeps its place, so argparse reports the missing value."""
    names = frozenset(options)
    out: list[str] = []
    words = list(argv)
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            out.extend(words[index:])
            break
        if word in names and index + 1 < len(words):
            out.append(f"{word}={words[index + 1]}")
            index += 2
            continue
        out.append(word)
        index += 1
    return out
