"""The guides in docs/ run: every ```sh and ```python block, in order, as a reader would type them, against real
`ec2soap serve` / `ec2soap simulator` processes on free ports with a fresh working directory.

How a guide marks its blocks (the info string after the fence; GitHub shows only its first word):
  ```sh                   run with bash (set -euo pipefail); exported variables and the directory carry over
  ```sh start=NAME        start this one command in the background (a reader's second terminal) and wait for its
                          banner; a later `stop=NAME` (on any block, before it runs) or the end of the guide stops it
  ```python               run with the venv's Python, in the same directory and environment
  ```text output          what the block before printed: each line, in order, must appear in that output
                          (`...` inside a line matches anything)
  ```text                 a listing or file excerpt, not a command
  ```LANG no-test         shown for reference only (a real CloudStack address, ec2-api-tools, systemd, ...);
                          the guide's prose says why. Any other block fails test_every_block_is_run_or_marked.
The ports are the reader's defaults moved with EC2SOAP_PORT / EC2SOAP_SIMULATOR_PORT / EC2SOAP_INTEGRATION_PORT,
which the guides' commands read as ${EC2SOAP_PORT:-7080} (the gateway reads the same variables).
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDES = ("operator-guide.md", "user-guide.md")
RUNNABLE = {"sh", "python"}
VENV_BIN = Path(sys.executable).parent
BLOCK_TIMEOUT = 120
# bash's own variables (read-only or managed by the shell): not carried from block to block.
_SHELL_OWN = ("BASH.*|EUID|PPID|UID|SHELLOPTS|FUNCNAME|GROUPS|PIPESTATUS|_|SHLVL|PWD|OLDPWD|S?RANDOM|LINENO|"
              "SECONDS|EPOCH.*|HISTCMD|DIRSTACK|COMP_.*|OPT.*|IFS|PS[0-9]|HOSTNAME|HOSTTYPE|MACHTYPE|OSTYPE")


@dataclass
class Block:
    guide: str
    line: int
    lang: str
    flags: dict[str, str]
    body: str
    heading: str

    @property
    def runnable(self) -> bool:
        return self.lang in RUNNABLE and "no-test" not in self.flags

    def where(self) -> str:
        return f"{self.guide}:{self.line} ({self.heading})"


def parse(guide: str) -> list[Block]:
    blocks, heading = [], ""
    lines = (DOCS / guide).read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.startswith("```"):
            words = line[3:].split()
            start, body = i + 1, []
            i += 1
            while i < len(lines) and lines[i] != "```":
                body.append(lines[i])
                i += 1
            assert i < len(lines), f"{guide}:{start}: unclosed code block"
            flags = dict((w.split("=", 1) + [""])[:2] for w in words[1:])
            blocks.append(Block(guide, start, words[0] if words else "", flags, "\n".join(body) + "\n", heading))
        i += 1
    return blocks


def matches(expected: str, actual: str) -> bool:
    """Each expected line (`...` = anything, a space = any run of blanks) appears in ACTUAL's lines, in order."""
    lines = actual.splitlines()
    at = 0
    for want in [w.strip() for w in expected.splitlines() if w.strip()]:
        pattern = re.compile(".*".join(r"\s+".join(re.escape(word) for word in part.split(" "))
                                       for part in want.split("...")))
        while at < len(lines) and not pattern.search(lines[at]):
            at += 1
        if at == len(lines):
            return False
        at += 1
    return True


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Reader:
    """One reader's shell session: a working directory, a state file that carries variables and `cd`
    from block to block, and the background processes of `start=` blocks."""
    root: Path
    env: dict[str, str]
    background: dict[str, tuple[subprocess.Popen, Path]] = field(default_factory=dict)
    stopped: dict[str, str] = field(default_factory=dict)  # name → the output of every process of that name
    count: int = 0

    @property
    def state(self) -> Path:
        return self.root / ".reader-state.sh"

    def prologue(self) -> str:
        return f"set -euo pipefail\nsource {self.state}\n"

    def run(self, block: Block) -> str:
        for name in filter(None, block.flags.get("stop", "").split(",")):
            self.stop(name)
        if "start" in block.flags:
            self.start(block.flags["start"], block)
            return ""
        self.count += 1
        if block.lang == "python":
            script = self.root / f".block{self.count}.py"
            script.write_text(block.body)
            command = self.prologue() + f"exec python {script}\n"
        else:
            # A reader's shell keeps its variables (exported or not) and its directory: so does the state file.
            command = (self.prologue() + block.body +
                       f"\ndeclare -p $(compgen -v | grep -vxE '{_SHELL_OWN}') > {self.state}.new\n"
                       f"echo \"cd $(printf %q \"$PWD\")\" >> {self.state}.new\nmv {self.state}.new {self.state}\n")
        done = subprocess.run(["bash", "--noprofile", "--norc", "-c", command], env=self.env, cwd=self.root,
                              capture_output=True, text=True, timeout=BLOCK_TIMEOUT)
        assert done.returncode == 0, (f"{block.where()} exited {done.returncode}:\n{block.body}\n--- stdout\n"
                                      f"{done.stdout}\n--- stderr\n{done.stderr}\n{self.logs()}")
        return done.stdout + done.stderr

    def start(self, name: str, block: Block) -> None:
        assert name not in self.background, f"{block.where()}: {name} is already running"
        command = block.body.strip()
        assert "\n" not in command, f"{block.where()}: a start= block holds one command"
        log = self.root / f".{name}-{self.count}.log"
        self.count += 1
        with open(log, "w") as out:
            process = subprocess.Popen(["bash", "--noprofile", "--norc", "-c", self.prologue() + "exec " + command],
                                       env=self.env, cwd=self.root, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.background[name] = (process, log)
        deadline = time.monotonic() + 60
        while not re.search(r"^ec2soap \d", log.read_text(), re.M):
            assert process.poll() is None, f"{block.where()}: {command} exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"{block.where()}: no banner:\n{log.read_text()}"
            time.sleep(0.1)
        time.sleep(0.3)  # the rest of the banner is the same write

    def stop(self, name: str) -> str:
        process, log = self.background.pop(name)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        text = log.read_text()
        self.stopped[name] = self.stopped.get(name, "") + text
        assert process.returncode == 0, f"{name} did not stop cleanly ({process.returncode}):\n{text}"
        return text

    def logs(self) -> str:
        return "\n".join(f"--- {name} log (tail)\n" + "\n".join(log.read_text().splitlines()[-30:])
                         for name, (_, log) in self.background.items())

    def close(self) -> dict[str, str]:
        """Stop what still runs; every background process's output, by name."""
        for name in list(self.background):
            self.stop(name)
        return self.stopped


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[Reader]:
    home, shims, work = tmp_path / "home", tmp_path / "bin", tmp_path / "work"
    for d in (home, shims, work):
        d.mkdir()
    # The command exists once the package is installed; an editable install made before the entry point was
    # added lacks the script, so stand one in.
    if not (VENV_BIN / "cloudstack-aws-api-register").exists():
        shim = shims / "cloudstack-aws-api-register"
        shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m ec2soap.registration \"$@\"\n")
        shim.chmod(0o755)
    gateway, simulator, integration, https = free_ports(4)
    env = {"PATH": f"{VENV_BIN}:{shims}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "VIRTUAL_ENV": str(VENV_BIN.parent), "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
           "EC2SOAP_PORT": str(gateway), "EC2SOAP_SIMULATOR_PORT": str(simulator),
           "EC2SOAP_INTEGRATION_PORT": str(integration), "HTTPS_PORT": str(https),
           # Only to keep the suite short: the simulator's jobs (deploy, stop) finish sooner than its default 2 s.
           "EC2SOAP_SIMULATOR_JOB_SECONDS": "0.5"}
    session = Reader(work, env)
    session.state.write_text(f"cd {work}\n")
    yield session
    for process, _ in session.background.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_guide(reader: Reader, guide: str) -> tuple[dict[str, str], dict[int, str]]:
    """Run every runnable block in order and check each `text output` block; returns the background processes'
    logs and each block's output by line number."""
    outputs: dict[int, str] = {}
    last: Block | None = None
    for block in parse(guide):
        if block.runnable:
            outputs[block.line] = reader.run(block)
            last = block
        elif block.lang == "text" and "output" in block.flags:
            assert last is not None, f"{block.where()}: an output block with no command before it"
            assert matches(block.body, outputs[last.line]), (
                f"{block.where()}: the output of {last.where()} does not match.\n--- expected\n{block.body}"
                f"--- actual\n{outputs[last.line]}")
    return reader.close(), outputs


@pytest.mark.parametrize("guide", GUIDES)
def test_every_block_is_run_or_marked(guide: str) -> None:
    blocks = parse(guide)
    assert sum(b.runnable for b in blocks) >= 10, f"{guide}: too few runnable blocks"
    for block in blocks:
        assert block.runnable or block.lang in ("text", "nginx") or "no-test" in block.flags, (
            f"{block.where()}: a ```{block.lang} block is neither run (sh, python, nginx) nor marked (text, no-test)")
        assert set(block.flags) <= {"no-test", "start", "stop", "output"}, f"{block.where()}: flags {block.flags}"
        if block.runnable and block.lang == "sh":
            # No placeholders in what is run: a reader's values come from variables set in an earlier block.
            assert not re.search(r"<[A-Za-z _-]+>", block.body), f"{block.where()}: a <placeholder> in a tested block"
            # CloudStack keys are base64url and one in 64 begins with '-': a grep given one as its pattern read
            # it as options (operator-guide.md once failed so, by chance). The pattern goes after -e.
            assert not re.search(r"\bgrep(\s+-[A-Za-df-z]+)*\s+[\"']?\$", block.body), (
                f"{block.where()}: a variable as grep's pattern without -e")


def test_operator_guide_runs(reader: Reader) -> None:
    logs, _ = run_guide(reader, "operator-guide.md")
    gateway = logs["gateway"]
    # The guide's section 10 describes these lines; it must stay true.
    assert re.search(r"service=ec2-query request=\S+ access_key=\S+ action=DescribeAvailabilityZones status=200 "
                     r"seconds=", gateway), gateway[-3000:]
    # ... and says secrets are never logged: the admin's and Alice's secrets appear in no gateway output.
    state = (reader.root / ".reader-state.sh").read_text()
    for name in ("ADMIN_SECRET", "ALICE_SECRET"):
        secret = re.search(rf'^declare -x {name}="([^"]+)"', state, re.M).group(1)  # type: ignore[union-attr]
        assert len(secret) > 20 and secret not in gateway, name


def test_user_guide_runs(reader: Reader) -> None:
    run_guide(reader, "user-guide.md")


def test_https_proxy_block_serves_ec2_s3_and_the_wsdl(tmp_path: Path) -> None:
    """The operator guide's nginx server block, as printed, on a free port with a throwaway certificate in front
    of a real gateway that trusts it: boto3 over HTTPS (EC2 and S3 signatures survive the proxy) and a WSDL
    naming https:// (from X-Forwarded-Proto)."""
    import boto3
    import requests
    from botocore.config import Config

    from tests.system.test_serve import Service

    nginx = "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    if nginx is None:
        pytest.skip("nginx is not installed")
    (block,) = [b for b in parse("operator-guide.md") if b.lang == "nginx"]
    service = Service(["serve", "--data-dir", str(tmp_path / "data"), "--host", "127.0.0.1", "--port", "0",
                       "--simulator-port", "0", "--integration-port", "0", "--trusted-proxies", "127.0.0.1"])
    (https_port,) = free_ports(1)
    cert, key = tmp_path / "proxy.pem", tmp_path / "proxy.key"
    subprocess.run(["openssl", "req", "-x509", "-nodes", "-newkey", "rsa:2048", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server = (block.body.replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
              .replace("/etc/ssl/certs/ec2.example.com.pem", str(cert))
              .replace("/etc/ssl/private/ec2.example.com.key", str(key))
              .replace("127.0.0.1:7080", f"127.0.0.1:{service.ports['EC2 Query']}"))
    assert server.count(str(tmp_path)) == 2 and str(https_port) in server, "the block's values changed: update this test"
    temp = tmp_path / "nginx"
    temp.mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"daemon off;\nmaster_process off;\npid {temp}/nginx.pid;\nerror_log {temp}/error.log;\n"
                    f"events {{}}\nhttp {{\naccess_log off;\n" +
                    "".join(f"{kind}_temp_path {temp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                             "uwsgi", "scgi")) +
                    server + "}\n")
    proxy = subprocess.Popen([nginx, "-p", str(temp), "-c", str(conf)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                assert proxy.poll() is None, proxy.stdout.read()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "nginx did not listen"
                time.sleep(0.1)
        url = f"https://localhost:{https_port}"
        keys = {"aws_access_key_id": service.access_key, "aws_secret_access_key": service.secret_key,
                "region_name": "cloudstack", "endpoint_url": url, "verify": str(cert)}
        ec2 = boto3.client("ec2", **keys)
        assert [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]] == ["zone1", "zone2"]
        s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}), **keys)
        s3.create_bucket(Bucket="through-tls")
        s3.put_object(Bucket="through-tls", Key="k", Body=b"x" * 300_000)
        assert s3.get_object(Bucket="through-tls", Key="k")["Body"].read() == b"x" * 300_000
        wsdl = requests.get(url + "/awsapi/services/AmazonEC2?wsdl", verify=str(cert), timeout=30).text
        assert f'location="https://localhost:{https_port}/awsapi/services/AmazonEC2"' in wsdl
    finally:
        proxy.terminate()
        proxy.wait(timeout=30)
        service.stop()
