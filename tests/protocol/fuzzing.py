"""The fuzz tests' shared half: hostile values, one generated request (Case), sending it over a keep-alive
session, judging the answer by the protocol's rules, and a short report of each distinct failure class.

What a generated request looks like is decided in fuzz_ec2.py and fuzz_s3.py; test_fuzz.py runs them.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Union

import requests
import urllib3
from lxml import etree

__all__ = ["Case", "Fuzzer", "junk_string", "junk_int", "junk_bool", "junk_date", "hex_id", "case_numbers",
           "case_seed", "Value", "server_errors"]

Value = Union[str, bytes]

# The reader a careful client uses: no entities, no DTD, no network, no huge-tree mode.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

# Strings that broke (or break) parsers, escapers, encoders and signers somewhere.
SPECIALS = [
    "", " ", "  leading and trailing  ", "+", "a+b", "a b", "%", "%%", "%00", "%zz", "%2B", "&", "=", "&=&",
    "a&b=c", "?", "#", "/", "//", "../../etc/passwd", "\\", "<", ">", "&amp;", "&lt;x&gt;", "]]>",
    "<![CDATA[x]]>", "<x/>", "'\"", "\x00", "a\x00b", "\x00" * 8, "\x01\x02\x03", "\x08", "\x1b[31m", "\x1f",
    "\x7f", "\x0b\x0c", "\t", "\r", "\n", "\r\n", "line1\nline2", "\u0085", "\u2028\u2029", "\ufeff",
    "\ufffe", "\uffff", "\ud7ff", "\ue000", "é", "naïve café", "日本語", "Ελληνικά", "עברית", "\u202eevil",
    "a\u0301\u0301\u0301", "😀", "\U0001f600" * 3, "\U0010ffff", "Ω" * 300, "${jndi:ldap://127.0.0.1/a}",
    "%s%s%n", "{{7*7}}", "' OR '1'='1", "; DROP TABLE t; --", "null", "None", "undefined", "NaN", "Infinity",
    "-0", "true", "0", "-1", "9" * 40, "1e309", "*", "?*", "[", "{", "}", "()", "$", "@", "~", "`id`",
]
_JUNK_ALPHABET = ("abcXYZ019-_.~ +%&=/?#;:,@!$'()*[]{}<>\"\\|^`\x00\x01\x07\x0b\x1f\x7f\x80\x9f\xa0é\u0100"
                  "\u2028\ufeff\ufffd\ufffe\uffff日😀")
_BAD_UTF8 = [b"\xff", b"\xc3", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"a\xffb",
             b"\xe2\x82", b"\xfe\xff\x00x"]


def case_seed() -> int:
    return int(os.environ.get("EC2SOAP_FUZZ_SEED", "20261201"))


def case_numbers(default: int) -> list[int]:
    """The cases to run: EC2SOAP_FUZZ_CASES=12,57 replays those; EC2SOAP_FUZZ_COUNT raises (or lowers) the
    number of requests per protocol for a longer run by hand."""
    only = os.environ.get("EC2SOAP_FUZZ_CASES", "").strip()
    if only:
        return [int(n) for n in only.split(",") if n.strip()]
    return list(range(int(os.environ.get("EC2SOAP_FUZZ_COUNT", str(default)))))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def server_errors() -> Iterator[_Collect]:
    """The server's ERROR records (its tracebacks) while fuzzing, kept here instead of pytest's log capture
    (thousands of requests would bury the report); one is attached to each failure class."""
    logger = logging.getLogger("ec2soap")
    handler = _Collect()
    saved = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.ERROR)
    from twisted.logger import globalLogPublisher

    def twisted_error(event: dict) -> None:  # what reaches Twisted's own log (its "Processing Failed" page)
        failure = event.get("log_failure")
        if failure is not None:
            handler.records.append(logging.LogRecord("twisted", logging.ERROR, "", 0, "%s",
                                                     (failure.getTraceback(),), None))
    globalLogPublisher.addObserver(twisted_error)
    try:
        yield handler
    finally:
        globalLogPublisher.removeObserver(twisted_error)
        logger.removeHandler(handler)
        logger.propagate, logger.level = saved


def _where(record: logging.LogRecord) -> str:
    """The exception and the innermost ec2soap frame of a logged traceback: enough to name the area."""
    if not record.exc_info or not record.exc_info[1]:
        lines = [line.strip() for line in record.getMessage().splitlines() if line.strip()]
        files = [line for line in lines if line.startswith("File ") and "/ec2soap/" in line]
        at = f" at {files[-1].split('/ec2soap/', 1)[1][:120]}" if files else ""
        return (lines[-1][:200] if lines else "") + at
    import traceback

    exc = record.exc_info[1]
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/ec2soap/" in f.filename]
    at = f" at {frames[-1].filename.split('/ec2soap/', 1)[1]}:{frames[-1].lineno} ({frames[-1].name})" if frames else ""
    return f"{type(exc).__name__}: {str(exc)[:160]}{at}"


def junk_string(rng: random.Random, *, allow_huge: bool = True) -> Value:
    """One hostile value: a special, random junk, a long or huge run, or (rarely) bytes that are not UTF-8."""
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(SPECIALS)
    if roll < 0.75:
        return "".join(rng.choice(_JUNK_ALPHABET) for _ in range(rng.randint(1, 40)))
    if roll < 0.85:
        return rng.choice(SPECIALS) + rng.choice(["x", "é", "\x00", "+", "%"]) * rng.randint(200, 1200)
    if roll < 0.90:
        if allow_huge:
            return rng.choice(["A", "é", "\x01", "<"]) * rng.choice([5000, 20000, 70000])
        return rng.choice(SPECIALS) * rng.randint(2, 30)
    if roll < 0.92:  # rare: the whole request is refused before any parser sees it
        return rng.choice(_BAD_UTF8) + rng.choice([b"", b"x", b"\x00"])
    return rng.choice(SPECIALS) + rng.choice(SPECIALS)


def junk_int(rng: random.Random) -> str:
    return rng.choice(["0", "1", "2", "-1", "-0", "+5", " 7", "7 ", "007", "1.5", "1e3", "0x10", "NaN", "", "one",
                       "9" * 25, "-" + "9" * 25, "2147483648", "-2147483649", "18446744073709551616",
                       "\u0661\u0662", "\uff11\uff12", "1\x00", "5_000", "1,000", "∞"])


def junk_bool(rng: random.Random) -> str:
    return rng.choice(["true", "false", "True", "FALSE", "1", "0", "yes", "no", "", "tru\x00e", "t", "null",
                       "truefalse", " true", "2"])


def junk_date(rng: random.Random) -> str:
    return rng.choice(["2026-12-01T12:00:00Z", "2026-12-01T12:00:00.123456789Z", "2026-13-45T25:61:61Z",
                       "0000-00-00T00:00:00Z", "9999-12-31T23:59:59Z", "99999-01-01T00:00:00Z", "now", "",
                       "2026-12-01", "1970-01-01T00:00:00+25:00", "Tue, 01 Dec 2026 12:00:00 GMT", "-1",
                       "2026-02-30T00:00:00Z", "2026-12-01T12:00:00\x00Z", "1" * 30])


def hex_id(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choice("0123456789abcdef") for _ in range(rng.choice([8, 17, 17, 40])))


@dataclass
class Case:
    """One generated request. `label` names its operation for deduplication; `document` says whether a
    successful answer is a document (XML or JSON) rather than object bytes or text."""
    protocol: str  # "ec2" or "s3": whose error format answers it
    label: str
    scheme: str
    method: str
    url: str  # exact: scheme, host, path and query as sent
    headers: dict[str, str]
    body: Optional[bytes] = None
    document: bool = True
    params: list[tuple[str, Value]] = field(default_factory=list)  # EC2: the generated parameters (no auth)
    index: int = -1
    chunked: bool = False  # send the body with Transfer-Encoding: chunked (no Content-Length)
    action: str = ""  # EC2: the bound action it names, whose <ActionResponse> a success must be
    spec: dict = field(default_factory=dict, repr=False)  # what it was built from ...
    rebuild: Optional[Callable[[dict], "Case"]] = field(default=None, repr=False)  # ... and how (for shrinking)

    @property
    def signed_whole(self) -> bool:
        """Signed over exactly what is sent (not anonymous, nothing moved out of the signed parameters)."""
        return self.scheme.split()[0] not in ("anonymous", "sigv2-split")


@dataclass
class Answer:
    status: Optional[int]
    headers: dict[str, str]
    body: bytes
    error: Optional[str] = None  # the client's exception, when nothing (whole) came back
    error_class: str = ""


@dataclass
class Failure:
    kind: str
    detail: str
    case: Case
    answer: Answer
    count: int = 1
    labels: dict[str, int] = field(default_factory=dict)  # the operations it was seen on
    shrunk: Optional[Case] = None  # a smaller request that fails the same way


_AUTH_ERRORS = {"AuthFailure", "SignatureDoesNotMatch", "IncompleteSignature", "InvalidAccessKeyId",
                "AuthorizationHeaderMalformed", "RequestExpired", "MissingSecurityHeader"}


# What a dropped or cut-short answer looks like to requests and urllib3 (client-side mistakes still raise).
_DROPPED = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, ConnectionError,
            urllib3.exceptions.HTTPError, http.client.HTTPException)


class Fuzzer:
    """Sends cases over one keep-alive session and keeps the first reproducer of each failure class."""

    def __init__(self, timeout: float = 60.0, log: Optional[_Collect] = None):
        self.timeout = timeout
        self.log = log
        self.session = requests.Session()
        self.failures: dict[tuple, Failure] = {}
        self.sent = 0
        self.reached = 0  # answers past authentication (not an auth error)
        self.reconnects = 0
        self.statuses: dict[int, int] = {}
        self.codes: dict[str, int] = {}  # error code (or status) → answers

    def close(self) -> None:
        self.session.close()

    # -- sending --------------------------------------------------------------------------------------------

    def _exchange(self, case: Case) -> Answer:
        data = iter([case.body]) if case.chunked and case.body else case.body
        prepared = requests.Request(case.method, case.url, headers=case.headers, data=data).prepare()
        prepared.url = case.url  # exactly the bytes that were signed; requests would requote them
        response = self.session.send(prepared, timeout=(10, self.timeout), allow_redirects=False, stream=True)
        # The bytes as sent: an object stored with a fuzzed Content-Encoding is not ours to decode.
        body = response.raw.read(decode_content=False)
        response.raw.release_conn()
        answer = Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, body)
        if (response.headers.get("connection") or "").lower() == "close":
            self.session.close()  # the server said so: the next request starts a fresh connection
        return answer

    def send(self, case: Case) -> Answer:
        """The answer, or an Answer with `error` when the connection was dropped or nothing came back. A
        failure on a reused keep-alive connection is tried once more on a fresh one (HTTP lets a server
        close an idle persistent connection; a client retries), so only a fresh connection's failure counts."""
        try:
            return self._exchange(case)
        except _DROPPED:
            self.session.close()
            self.reconnects += 1
        except requests.Timeout as exc:
            self.session.close()
            return Answer(None, {}, b"", f"{type(exc).__name__}: {str(exc)[:200]}", type(exc).__name__)
        try:
            return self._exchange(case)
        except _DROPPED + (requests.Timeout,) as exc:
            self.session.close()
            cause: BaseException = exc  # the innermost reason: RemoteDisconnected, ConnectionResetError, ...
            while (cause.__cause__ or cause.__context__) is not None:
                cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
            cause = (cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else cause)
            return Answer(None, {}, b"", f"{type(exc).__name__} ({type(cause).__name__}): {str(exc)[:200]}",
                          f"{type(exc).__name__}/{type(cause).__name__}")

    # -- judging ----------------------------------------------------------------------------------------------

    def run(self, case: Case) -> None:
        self.sent += 1
        answer = self.send(case)
        if answer.status is not None:
            self.statuses[answer.status] = self.statuses.get(answer.status, 0) + 1
            code = error_code(case, answer)
            if code not in _AUTH_ERRORS:
                self.reached += 1
            self.codes[code or str(answer.status)] = self.codes.get(code or str(answer.status), 0) + 1
        problem = judge(case, answer)
        logged = self.log.records[:] if self.log is not None else []
        if self.log is not None:
            self.log.records.clear()
        if problem is None:
            return
        key, detail = _classify(case, answer, problem)
        if logged:
            detail = (detail + " | server: " + _where(logged[-1])).strip(" |")
        failure = self.failures.get(key)
        if failure is None:
            failure = self.failures[key] = Failure(problem[0], detail, case, answer, 0)
        failure.count += 1
        failure.labels[case.label] = failure.labels.get(case.label, 0) + 1

    # -- shrinking --------------------------------------------------------------------------------------------

    def shrink(self, seconds: float = 60.0) -> None:
        """Make the reproducer of each shown class smaller: drop parameters and headers (halves first, then
        smaller runs, until nothing more goes), cut long values, simplify the rest, keeping each change that
        still fails the same way (the same class)."""
        deadline = time.monotonic() + seconds
        reconnects = self.reconnects
        for key, failure in sorted(self.failures.items(), key=lambda item: -item[1].count)[:FULL_REPORTS]:
            case = failure.case
            if case.rebuild is None or time.monotonic() > deadline:
                continue

            def alike(spec: dict) -> bool:
                return time.monotonic() < deadline and self._fails_alike(case, spec, key)

            spec = dict(case.spec)
            for name in ("pairs", "query", "headers"):
                if name in spec:
                    spec = _drop_items(spec, name, alike)
                    for i, item in enumerate(spec[name]):
                        value = item[1]
                        if isinstance(value, (str, bytes)) and len(value) > 64:
                            shorter = {**spec, name: [*spec[name][:i], (item[0], value[:64], *item[2:]),
                                                      *spec[name][i + 1:]]}
                            spec = shorter if alike(shorter) else spec
            for name, simpler in spec.get("simpler", []):
                if spec.get(name) != simpler and alike({**spec, name: simpler}):
                    spec = {**spec, name: simpler}
            if spec != case.spec:
                failure.shrunk = case.rebuild(spec)
                failure.answer = self.send(failure.shrunk)
        self.reconnects = reconnects  # only the fuzz's own requests count

    def _fails_alike(self, original: Case, spec: dict, key: tuple) -> bool:
        assert original.rebuild is not None
        case = original.rebuild(spec)
        answer = self.send(case)
        if self.log is not None:
            self.log.records.clear()
        problem = judge(case, answer)
        return problem is not None and _classify(case, answer, problem)[0] == key

    # -- reporting --------------------------------------------------------------------------------------------

    def report(self, title: str, seed: int) -> str:
        lines = [f"{title}: {len(self.failures)} distinct failure classes in "
                 f"{sum(f.count for f in self.failures.values())} of {self.sent} requests "
                 f"(seed {seed}; replay one case with EC2SOAP_FUZZ_SEED={seed} and its case number)"]
        for n, ((protocol, label, kind, _, code), f) in enumerate(sorted(
                self.failures.items(), key=lambda item: (-item[1].count, item[0][1])), 1):
            c, a = f.case, f.answer
            status = a.status
            if n > FULL_REPORTS:
                lines.append(f"[{n}] {f.count}x {protocol} {label}: {kind} (status {status}"
                             f"{', ' + code if code else ''}), case #{f.case.index}: {_short(f.detail, 200)}")
                continue
            lines.append(f"[{n}] {f.count}x {protocol} {label}: {kind} (status {status}"
                         f"{', ' + code if code else ''}) {f.detail}")
            if label not in f.labels:
                seen = sorted(f.labels.items(), key=lambda item: -item[1])
                lines.append(f"    seen on {len(seen)} operations: "
                             f"{_short(', '.join(f'{k} ({v})' for k, v in seen), 400)}")
            if f.shrunk is not None:
                c = f.shrunk
            how = c.scheme + (" chunked" if c.chunked else "") + (", shrunk" if f.shrunk is not None else "")
            lines.append(f"    case #{c.index} {how}: {c.method} {_short(c.url, 400)}")
            if c.params:
                lines.append(f"    params: {_short(repr([(_brief(k), _brief(v)) for k, v in c.params]), 800)}")
            shown = {k: _brief(v) for k, v in c.headers.items() if k.lower() not in ("authorization", "x-amz-date")}
            lines.append(f"    headers: {_short(repr(shown), 600)}")
            if c.body:
                lines.append(f"    body ({len(c.body)} bytes): {_short(repr(c.body), 300)}")
            lines.append(f"    answer: {a.error or ''}{_short(repr(a.body), 300) if a.body else ''}")
        return "\n".join(lines)


FULL_REPORTS = 25  # classes shown with their reproducer; the rest get one line each


def _complaint(detail: str) -> str:
    """A parser's message without its positions and values: "PCDATA invalid Char value N", ..."""
    if detail.startswith("xmlns:") or "is not a valid URI" in detail:
        return "xmlns is not a valid URI"
    return re.sub(r"0x[0-9a-fA-F]+|\d+", "N", detail.split(", line", 1)[0]).strip()[:80]


def _drop_items(spec: dict, name: str, alike: Callable[[dict], bool]) -> dict:
    """SPEC with as many of SPEC[NAME]'s items removed as ALIKE allows: runs of half the list, then a quarter,
    ... then single items, and again while a pass still removes something (a Filter.N.Name goes once its
    values have)."""
    for _ in range(3):
        before = len(spec[name])
        run = max(1, before // 2)
        while run >= 1:
            i = 0
            while i < len(spec[name]):
                trial = {**spec, name: spec[name][:i] + spec[name][i + run:]}
                if alike(trial):
                    spec = trial
                else:
                    i += run
            run //= 2
        if len(spec[name]) == before:
            break
    return spec


def _classify(case: Case, answer: Answer, problem: tuple[str, str, str]) -> tuple[tuple, str]:
    """(the failure class, the detail) of a PROBLEM judge() found."""
    kind, detail, code = problem
    label = oversize(case) or case.label  # the HTTP layer's limits do not depend on the operation
    if kind == "correct signature refused":
        label = f"any operation, {case.scheme.split()[0]}"
    if kind.startswith("unparseable"):
        # One document writer fails the same way for every operation: one class per parser complaint.
        label, code = "any operation", _complaint(detail)
    return (case.protocol, label, kind, answer.status if label != "any operation" else None, code), detail


# Twisted's HTTP limits: one line (request line or header) and all headers together.
MAX_LINE = 16384


def oversize(case: Case) -> Optional[str]:
    """A label for a request beyond the HTTP server's limits, whatever operation it names."""
    line = len(case.method) + len(case.url.split("/", 3)[-1]) + 12
    headers = sum(len(k) + len(v) + 4 for k, v in case.headers.items())
    if line > MAX_LINE:
        return "any operation, request line over 16 kB"
    if headers > MAX_LINE:
        return "any operation, headers over 16 kB"
    return None


def _brief(value: Any) -> Any:
    """A long value as its start and its length (the case number reproduces it whole)."""
    if isinstance(value, (str, bytes)) and len(value) > 80:
        return f"{value[:60]!r}...<{len(value)} {'bytes' if isinstance(value, bytes) else 'chars'}>"
    return value


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... [{len(text)} chars]"


def error_code(case: Case, answer: Answer) -> Optional[str]:
    """The error code of an answer's document, if it has one that parses."""
    if not answer.body:
        return None
    try:
        root = etree.fromstring(answer.body, _PARSER)
    except etree.XMLSyntaxError:
        return None
    code = root.find("Errors/Error/Code") if case.protocol == "ec2" else root.find("Code")
    return code.text if code is not None else None


def judge(case: Case, answer: Answer) -> Optional[tuple[str, str, str]]:
    """(kind, detail, code) of what is wrong with ANSWER to CASE, or None when it is a good answer."""
    if answer.status is None:
        return "no answer", answer.error or "", answer.error_class
    status, body = answer.status, answer.body
    code = error_code(case, answer) or ""
    ctype = answer.headers.get("content-type", "")
    if status >= 500 and body and not code and case.method != "HEAD":
        try:
            etree.fromstring(body, _PARSER)
        except etree.XMLSyntaxError as exc:  # what the 5xx is (a 501 NotImplemented?) is beyond reading
            return "unparseable error", str(exc)[:160], ""
    # S3 answers 501 NotImplemented for functionality it does not offer (its own error table); EC2 has no
    # 501: an unsupported action is 400 UnsupportedOperation. Nothing here causes an outage, so no 503.
    if status >= 500 and not (case.protocol == "s3" and status == 501 and code == "NotImplemented"):
        return "5xx", f"a <{etree.fromstring(body, _PARSER).tag}> document" if body and not code else "", code
    if code == "SignatureDoesNotMatch" and case.signed_whole:
        # Signed as botocore (or, for SigV2 Query, by the book) signs: the gateway reads another request
        # than the client signed, so this client is locked out of whatever these names and values do.
        root = etree.fromstring(body, _PARSER)
        verified = root.findtext("StringToSign") or root.findtext("CanonicalRequest")
        return "correct signature refused", f"the gateway verified {verified!r}"[:400] if verified else "", code
    if case.method == "HEAD" or status in (204, 304) or not body:
        return None
    if status >= 300 or not case.document:
        if status < 300:
            return None  # object bytes or a text answer
        try:
            root = etree.fromstring(body, _PARSER)
        except etree.XMLSyntaxError as exc:
            return "unparseable error", str(exc)[:160], ""
        if case.protocol == "ec2":
            if root.tag != "Response" or not code or root.find("RequestID") is None:
                return "not EC2's error document", f"root <{root.tag}>", code
        elif root.tag != "Error" or not code:
            return "not S3's error document", f"root <{root.tag}>", code
        return None
    if "json" in ctype:
        try:
            json.loads(body)
        except ValueError as exc:
            return "unparseable JSON", str(exc)[:160], ""
        return None
    if case.protocol == "ec2" and "xml" not in ctype:
        return None  # the original's extensions answer plain text
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        return "unparseable document", str(exc)[:160], ""
    if case.protocol == "ec2" and case.action and etree.QName(root).localname != case.action + "Response":
        return "another action's answer", f"root <{root.tag}>", ""
    return None
