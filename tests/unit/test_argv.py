"""Keys that begin with '-' reach every command intact, in both spellings (`--opt V` and `--opt=V`).

CloudStack keys are URL-safe base64, so one in 32 begins with '-'; CI once failed on such a generated secret.
The test walks every parser we ship, so a new key option that is not in KEY_OPTIONS fails here.
"""
from __future__ import annotations

import argparse
import base64
import random

import pytest

from ec2soap.argv import KEY_OPTIONS, glue_values
from ec2soap.cli import build_parser
from ec2soap.registration import build_register_parser


def _parsers(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()):
    yield words, parser
    for action in parser._actions:  # argparse has no public walk over sub-commands
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, words + (name,))


def _key_options() -> list[tuple[str, tuple[str, ...], argparse.ArgumentParser, argparse.Action]]:
    found = []
    for prog, root in (("ec2soap", build_parser()), ("register", build_register_parser())):
        for words, parser in _parsers(root):
            for action in parser._actions:
                names = [o for o in action.option_strings if o.startswith("--")]
                if names and any(part in names[0] for part in ("apikey", "secretkey", "access-key", "secret-key")):
                    found.append((prog, words, parser, action))
    return found


def test_every_key_option_is_glued() -> None:
    options = _key_options()
    assert {a.option_strings[0] for _, _, _, a in options} == KEY_OPTIONS
    assert len(options) >= 6  # user register (2), user remove, cert add, cert remove, the register script (2)


def _random_key(rng: random.Random) -> str:
    return "-" + base64.urlsafe_b64encode(rng.randbytes(48)).decode().rstrip("=")


@pytest.mark.parametrize("seed", range(5))
def test_a_key_beginning_with_a_dash_parses_in_both_spellings(seed: int) -> None:
    rng = random.Random(seed)
    for _, words, parser, action in _key_options():
        others = []
        for other in parser._actions:  # fill the other required options with plain values
            if other.required and other is not action and other.option_strings:
                others += [other.option_strings[0], "plain"]
            elif not other.option_strings and other.nargs is None and other.dest != "help":
                others.append("plain")
        key = _random_key(rng)
        option = action.option_strings[0]
        for given in ([option, key], [f"{option}={key}"]):
            args = parser.parse_args(glue_values(others + given))
            assert getattr(args, action.dest) == key, (words, given)


def test_glue_leaves_other_words_alone() -> None:
    argv = ["user", "register", "--config", "-odd.toml", "--access-key", "-k", "--", "--secret-key", "x"]
    assert glue_values(argv) == ["user", "register", "--config", "-odd.toml", "--access-key=-k", "--",
                                 "--secret-key", "x"]
    assert glue_values(["--secret-key"]) == ["--secret-key"]


def test_the_main_commands_take_a_dash_key_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    # The full command lines, through main's own argv handling (the parse fails only on the missing file).
    from ec2soap.registration import register_main

    assert register_main(["--apikey", "-a", "--secretkey", "-s", "--cert", "/nonexistent/x.pem",
                          "--url", "http://127.0.0.1:1/awsapi"]) == 1
    assert "cannot read the certificate file" in capsys.readouterr().err
