"""FrontDoor: what every protocol's twisted.web resource does around a request, written once.

EC2 Query (query/resource.py), EC2 SOAP (soap/resource.py) and S3 differ in how they read a request and how
they write an answer and an error. Everything around that is here, in this order:

1. a request id (`new_request_id`) and a timer, kept on an `Exchange` the protocol fills in as it learns who
   calls and what they ask (`exchange.action`, `exchange.caller`);
2. `read(exchange)`: what the protocol can tell without CloudStack or a signature (the HTTP method, the
   parameters, the action), so a refusal can name the action;
3. the service switch: `enabled()` False answers `disabled_error()`;
4. `answer(exchange)` → an `Answer` (written here) or None (the protocol wrote the response itself: a stream);
5. the catch-all: any exception becomes `refusal(exc)`, the protocol's own error, where anything that is not
   one of `errors` is logged with its traceback and answered as `internal_error()` (its text may carry
   CloudStack's or Python's internals); `refuse` writes it;
6. the request in `metrics` and one log line (`log_line`: key=value `log_fields`, never a secret).

A subclass names itself (`service`, the metrics label; `log_name`, the first word of its log line) and fills
in the hooks. Nothing here knows EC2 or S3: the host, scheme and client address come from ec2soap.origin.
A new concern of every front door (a header every answer carries, a field of the log line, a limit) goes
here; a concern of one protocol goes in its resource.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from twisted.internet.defer import ensureDeferred
from twisted.python.failure import Failure
from twisted.web import resource, server

from ec2soap import __version__
from ec2soap.origin import request_origin

__all__ = ["FrontDoor", "Exchange", "Answer"]

log = logging.getLogger(__name__)


@dataclass
class Answer:
    """A complete response: STATUS, CONTENT_TYPE, BODY (not written for HEAD by Twisted) and HEADERS."""
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Exchange:
    """One request while a front door serves it. ACTION and CALLER are what the log line and the metrics
    show ('-' until known; CALLER is an access key or a principal, never a secret); STATUS is what was
    answered; PARSED is what `read` returned, for the protocol's own use."""
    request: Any
    request_id: str
    started: float
    action: str = "-"
    caller: str = "-"
    status: int = 500
    parsed: Any = None

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


class FrontDoor(resource.Resource):
    """The base of every protocol's resource. ENABLED() False: the service is switched off (its own error);
    METRICS is an ec2soap.metrics.Metrics or None. Subclasses call `serve(request)` from their render."""
    isLeaf = True

    service = "-"  # the metrics label: "ec2", "soap", "s3"
    log_name = "-"  # the first word of the log line
    errors: tuple[type[BaseException], ...] = ()  # the protocol's own errors, answered as they are
    log = log

    def __init__(self, *, enabled: Optional[Callable[[], bool]] = None, metrics: Any = None):
        super().__init__()
        self.enabled = enabled or (lambda: True)
        self.metrics = metrics

    # -- what a protocol supplies ---------------------------------------------------------------------------

    def new_request_id(self) -> str:
        return str(uuid.uuid4())

    async def read(self, exchange: Exchange) -> Any:
        """What the request asks, before the service switch is looked at (None: nothing to read first)."""
        return None

    async def answer(self, exchange: Exchange) -> Optional[Answer]:
        raise NotImplementedError

    def disabled_error(self) -> BaseException:
        raise NotImplementedError

    def internal_error(self) -> BaseException:
        raise NotImplementedError

    def error_answer(self, exchange: Exchange, error: Any) -> Answer:
        """ERROR (one of `errors`) as the protocol's error document."""
        raise NotImplementedError

    caller_field = "caller"  # the log line's name for the caller (an access key is no secret)

    def caller_text(self, exchange: Exchange) -> str:
        return exchange.caller

    def action_text(self, exchange: Exchange) -> str:
        """The action as logged (free text from a client is the protocol's to quote and shorten)."""
        return exchange.action

    def log_fields(self, exchange: Exchange) -> list[tuple[str, Any]]:
        """The log line's fields after its first word: (name, value), values without spaces or secrets."""
        return [("request", exchange.request_id), (self.caller_field, self.caller_text(exchange)),
                ("action", self.action_text(exchange)), ("status", exchange.status),
                ("seconds", f"{exchange.seconds:.3f}"), ("client", request_origin(exchange.request).client)]

    def log_line(self, exchange: Exchange) -> str:
        """The request's one log line: `log_name`, then `log_fields` as key=value. A protocol whose operators
        already read another format (S3's `S3 GET /bucket → 200 [...]`) may keep it here."""
        return " ".join([self.log_name] + [f"{name}={value}" for name, value in self.log_fields(exchange)])

    def metric_action(self, exchange: Exchange) -> str:
        """The metrics label of the action: a bounded name ('other' for what the protocol does not know)."""
        return exchange.action

    # -- the shared wrapper ----------------------------------------------------------------------------------

    def serve(self, request: Any) -> Any:
        exchange = Exchange(request=request, request_id=self.new_request_id(), started=time.monotonic())
        ensureDeferred(self._serve(exchange)).addErrback(self._failed_outside, exchange)
        return server.NOT_DONE_YET

    async def _serve(self, exchange: Exchange) -> None:
        try:
            try:
                exchange.parsed = await self.read(exchange)
                if not self.enabled():
                    raise self.disabled_error()
                answer = await self.answer(exchange)
                if answer is None:
                    exchange.status = exchange.request.code
                else:
                    exchange.status = answer.status
                    self.send(exchange, answer)
            except Exception as exc:
                exchange.status = 500  # what `_failed_outside` answers if even the refusal fails
                exchange.status = await self.refuse(exchange, self.refusal(exc, exchange))
        finally:
            # Counted and logged however the request ended (the log line last: once it is out, so is the count).
            self.measure(exchange, exchange.seconds)
            self.log.info(self.log_line(exchange))

    def refusal(self, exc: BaseException, exchange: Exchange) -> Any:
        """The protocol's error to answer for EXC."""
        if isinstance(exc, self.errors):
            return exc
        self.log.error("%s request %s %s failed", self.log_name, exchange.request_id, exchange.action,
                       exc_info=(type(exc), exc, exc.__traceback__))
        return self.internal_error()

    async def refuse(self, exchange: Exchange, error: Any) -> int:
        """Write ERROR; the status answered."""
        answer = self.error_answer(exchange, error)
        self.send(exchange, answer)
        return answer.status

    def measure(self, exchange: Exchange, seconds: float) -> None:
        if self.metrics is not None:
            self.metrics.request(self.service, self.metric_action(exchange), exchange.status, seconds)

    def send(self, exchange: Exchange, answer: Answer) -> None:
        request = exchange.request
        if request._disconnected or request.finished:
            return
        request.setResponseCode(answer.status)
        for name, value in answer.headers.items():
            request.setHeader(name, value)
        request.setHeader("Content-Type", answer.content_type)
        request.setHeader("Server", f"ec2soap/{__version__}")
        request.write(answer.body)
        request.finish()

    def _failed_outside(self, failure: Failure, exchange: Exchange) -> None:
        """The wrapper itself failed (writing the answer, the log line): the client still gets an answer,
        the protocol's internal error if no byte is out yet, else a cut connection."""
        self.log.error("%s request %s failed outside the handler: %s", self.log_name, exchange.request_id,
                       failure.getTraceback())
        self.last_resort(exchange)

    def last_resort(self, exchange: Exchange) -> None:
        """Answer a request the normal path left unanswered; never raises."""
        request = exchange.request
        try:
            if request.finished or request._disconnected:
                return
            if request.startedWriting:
                if request.channel is not None:
                    request.channel.transport.loseConnection()
                return
            self.send(exchange, self.error_answer(exchange, self.internal_error()))
        except Exception:
            self.log.exception("%s request %s: no answer could be written", self.log_name, exchange.request_id)
