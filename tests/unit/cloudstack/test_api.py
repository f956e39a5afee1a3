"""The typed CloudStack seam: api.py is what tools/gen_cs_api.py writes from spec.json, and every CloudStack call
the gateway makes names a command and parameters the spec knows (a misspelling fails here, not in production)."""
from __future__ import annotations

import ast
import inspect
import pathlib
import re
import subprocess
import sys
from typing import Iterator

import pytest

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.api import COMMANDS, CloudStackApi
from ec2soap.cloudstack.client import CloudStackClient, InProcessTransport

ROOT = pathlib.Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "ec2soap"
GENERIC = ("call", "run", "start", "list_all")  # the client's by-name methods
CORE_CLIENTS = ("ctx.cloud", "ctx.admin")  # the RequestContext's clients: every method called on them is a command
_COMMAND_NAME = re.compile(r"^[a-z]+[A-Z][A-Za-z]*$")
TYPED = {name: command for command, name in COMMANDS.items()}
TYPED.update({f"begin_{name}": command for command, name in COMMANDS.items()
              if spec.command(command).get("kind") == "async"})


def _gateway_sources() -> Iterator[tuple[str, str]]:
    """(path, text) of every gateway module: all of ec2soap/ except the CloudStack package itself."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if "cloudstack" not in path.relative_to(PACKAGE).parts:
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


def _problems(where: str, source: str) -> list[str]:
    """What is wrong with the CloudStack calls in SOURCE: unknown commands, unknown or missing parameters."""
    snake = {spec.snake_case(name): name for name in spec.commands()}
    out = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name, line = node.func.attr, f"{where}:{node.lineno}"
        command = None
        keywords = [k.arg for k in node.keywords]
        if name in TYPED:
            command = TYPED[name]
        elif name.startswith("begin_") and name[6:] in snake:
            out.append(f"{line}: {name}: {snake[name[6:]]} is not async or not in CALLED (tools/gen_cs_api.py)")
            continue
        elif name in snake:
            out.append(f"{line}: {name}: {snake[name]} is not in CALLED (tools/gen_cs_api.py)")
            continue
        elif ast.unparse(node.func.value) in CORE_CLIENTS and name not in GENERIC + ("wait_job",):
            out.append(f"{line}: {name}: no such CloudStack command")
            continue
        elif name in GENERIC + ("wait_job",):
            given = node.args[:1] if name != "wait_job" else [k.value for k in node.keywords if k.arg == "command"]
            if not given or not isinstance(given[0], ast.Constant) or not isinstance(given[0].value, str):
                continue
            command = given[0].value
            if not _COMMAND_NAME.match(command):
                continue
            if command not in COMMANDS:
                out.append(f"{line}: {name}({command!r}): not a command the gateway calls (CALLED)")
                continue
            if name == "wait_job":
                continue
        else:
            continue
        params = spec.command(command)["params"]
        for keyword in keywords:
            if keyword is not None and keyword not in params:
                out.append(f"{line}: {command} has no parameter {keyword!r}")
        if None not in keywords and name in TYPED:
            for required in sorted(p for p, v in params.items() if v.get("required")):
                if required not in keywords:
                    out.append(f"{line}: {command} needs {required!r}")
    return out


def test_api_py_is_what_the_generator_writes() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_cs_api.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_cloudstack_call_of_the_gateway_names_a_known_command_and_parameters() -> None:
    problems = [p for where, text in _gateway_sources() for p in _problems(where, text)]
    assert problems == []


def test_the_walk_catches_a_misspelt_command_a_misspelt_parameter_and_a_missing_one() -> None:
    source = ("async def f(ctx):\n"
              "    await ctx.cloud.list_virtual_machine(id='x')\n"
              "    await ctx.cloud.list_volumes(virtualmachinid='x')\n"
              "    await ctx.cloud.begin_attach_volume(id='v')\n"
              "    await ctx.cloud.start('deployVirtualMachines', zoneid='z')\n"
              "    await ctx.cloud.begin_create_volume(name='n', **{'zoneid': 'z'})\n")
    problems = _problems("t.py", source)
    assert [p.split(": ", 1)[0] for p in problems] == ["t.py:2", "t.py:3", "t.py:4", "t.py:5"]
    assert "listVirtualMachine" not in problems[0] and "list_virtual_machine" in problems[0]
    assert "'virtualmachinid'" in problems[1] and "'virtualmachineid'" in problems[2]


def test_every_command_in_the_interface_is_called_by_the_gateway() -> None:
    """CALLED stays the list of what the gateway calls: a command nobody calls any more is dropped from it."""
    used = set()
    for _, text in _gateway_sources():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Attribute) and node.attr in TYPED:
                used.add(TYPED[node.attr])
            elif isinstance(node, ast.Constant) and node.value in COMMANDS:
                used.add(node.value)
    assert sorted(set(COMMANDS) - used) == []


def test_typed_methods_take_the_spec_parameters_as_keywords_only() -> None:
    for command, name in COMMANDS.items():
        signature = inspect.signature(getattr(CloudStackApi, name))
        params = spec.command(command)["params"]
        declared = {p.name: p for p in signature.parameters.values() if p.name != "self"}
        assert set(declared) == set(params), command
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in declared.values()), command
        required = {n for n, p in declared.items() if p.default is inspect.Parameter.empty}
        assert required == {n for n, v in params.items() if v.get("required")}, command


def test_the_client_answers_through_the_typed_methods(sim, in_reactor) -> None:  # type: ignore[no-untyped-def]
    user = sim.users["demo"]
    client = CloudStackClient(InProcessTransport(sim), user["apikey"], user["secretkey"], poll_interval=0.01)
    assert isinstance(client, CloudStackApi)
    zones = in_reactor(client.list_zones)
    assert zones and all("id" in zone for zone in zones)
    created = in_reactor(lambda: client.create_ssh_key_pair(name="typed-seam"))
    assert created["name"] == "typed-seam" and "privatekey" in created
    assert [k["name"] for k in in_reactor(lambda: client.list_ssh_key_pairs(name="typed-seam"))] == ["typed-seam"]
    assert in_reactor(lambda: client.delete_ssh_key_pair(name="typed-seam")) is True
    with pytest.raises(TypeError):
        client.list_zones(zonid="x")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        client.create_ssh_key_pair()  # type: ignore[call-arg]


def test_the_core_calls_cloudstack_in_one_style() -> None:
    """The core reaches CloudStack only through typed methods (and wait_job): no by-name start("cmd", ...)."""
    by_name = []
    for where, text in _gateway_sources():
        if not where.startswith("ec2soap/core/"):
            continue
        for node in ast.walk(ast.parse(text)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in GENERIC
                    and ast.unparse(node.func.value) in CORE_CLIENTS + ("expunger",)):
                by_name.append(f"{where}:{node.lineno}: {ast.unparse(node.func)}")
    assert by_name == []
