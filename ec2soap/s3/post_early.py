"""A signed POST form judged when its file part begins: signature, expiration, conditions on the fields before it.

S3 refuses a forged or expired browser upload before its file streams, so a stranger's large file is never
kept. The form is parsed on the store's pool (s3.post_form.FormReceiver, fed by s3.streaming as bytes arrive),
but a signature needs its access key's secret, which `Credentials.secret_for` looks up asynchronously on the
reactor (SQL through the same pool, CloudStack over HTTP). So the lookup starts on the reactor as soon as the
field naming the access key is in (`ReactorLookup`: handed over with callFromThread; the reactor never waits),
and when the file part begins `FormJudge.before_file` checks at once what needs no secret (the key field, the
signature fields) and answers a `Pending` verdict. The receiver holds the first bytes of the file in memory
(post_form.HOLD_BYTES at most) while it polls the verdict, then waits for it on its pool thread, briefly
(post_form.HOLD_SECONDS: the lookup may need a pool thread itself, and a pool of one would wait on itself).
A refusal is raised from the receiver's write, normally before any temp file is opened.
s3.handlers_post checks the whole form again once it is in (the buffered path has no early check), with the
time the file began as the policy's "now".

Twisted here only to start work on the reactor from a pool thread; nothing from the resource or ec2soap.core.
"""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Mapping, Optional

from twisted.internet.defer import ensureDeferred
from twisted.python.failure import Failure

from ec2soap.auth.credentials import CredentialsUnavailable
from ec2soap.auth.post_signature import PostCredentials, parse_post, verify_post
from ec2soap.s3.errors import S3Error
from ec2soap.s3.post_policy import check_fields, parse_policy, with_filename

__all__ = ["ReactorLookup", "Pending", "FormJudge", "SIGNED_FIELDS", "form_keys", "missing_key", "unavailable"]

# Fields that make a form a signed one (auth.post_signature reads them); without any, it is anonymous.
SIGNED_FIELDS = frozenset({"policy", "signature", "awsaccesskeyid", "x-amz-signature", "x-amz-credential",
                           "x-amz-algorithm"})


def form_keys(fields: Mapping[str, str]) -> dict:
    """The bucket-policy condition keys a POST form's FIELDS give its PutObject, as the same-named headers would
    a PUT's: s3:x-amz-acl (the `acl` field), s3:x-amz-storage-class, s3:x-amz-website-redirect-location; for
    a signed form, s3:authType POST and s3:signatureversion (AWS4-HMAC-SHA256 with x-amz-algorithm, else AWS)."""
    keys = {"s3:x-amz-acl": fields["acl"]} if "acl" in fields else {}
    keys.update({"s3:" + name: fields[name] for name in _HEADER_FIELDS if name in fields})
    if "signature" in fields or "x-amz-signature" in fields:
        keys["s3:authType"] = "POST"
        keys["s3:signatureversion"] = "AWS4-HMAC-SHA256" if "x-amz-algorithm" in fields else "AWS"
    return keys


_HEADER_FIELDS = ("x-amz-storage-class", "x-amz-website-redirect-location")


def missing_key() -> S3Error:
    return S3Error("InvalidArgument", "Bucket POST must contain a field named 'key'.  If it is specified, please "
                                      "check the order of the fields.", argument_name="key", argument_value="")


def unavailable() -> S3Error:
    return S3Error("ServiceUnavailable", "CloudStack cannot be reached; please try again shortly.")


class ReactorLookup:
    """START() (a coroutine function) run on the reactor, asked for from any thread; its outcome is read on
    the pool: `wait(timeout)` says whether it has ended, `result()` returns its value or raises its error."""

    def __init__(self, start: Callable[[], Awaitable[Any]], reactor: Any = None):
        self._done = threading.Event()
        self._value: Any = None
        self._error: Optional[BaseException] = None
        if reactor is None:
            from twisted.internet import reactor as default
            reactor = default
        reactor.callFromThread(self._run, start)

    def _run(self, start: Callable[[], Awaitable[Any]]) -> None:  # on the reactor
        try:
            started = ensureDeferred(start())
        except BaseException:
            self._failed(Failure())
            return
        started.addCallbacks(self._succeeded, self._failed)

    def _succeeded(self, value: Any) -> None:
        self._value = value
        self._done.set()

    def _failed(self, failure: Failure) -> None:
        self._error = failure.value
        self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def result(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._value


class Pending:
    """A form's verdict waiting for its secret: `wait(timeout)` as ReactorLookup's; `limit()` (once it has
    ended) raises the refusal or returns the most bytes the file may have (None: the object limit alone)."""

    def __init__(self, lookup: ReactorLookup, judge: Callable[[Optional[str]], Optional[int]]):
        self._lookup, self._judge = lookup, judge

    def wait(self, timeout: float) -> bool:
        return self._lookup.wait(timeout)

    def limit(self) -> Optional[int]:
        try:
            secret = self._lookup.result()
        except CredentialsUnavailable:
            raise unavailable() from None
        return self._judge(secret)


class FormJudge:
    """The checks S3 makes when the file part of a POST to CALL's bucket begins. RES is the S3 resource (its
    ops and credentials). `field` and `before_file` are FormReceiver's hooks; both run on the pool."""

    def __init__(self, res: Any, call: Any):
        self.res, self.call = res, call
        self._lookups: dict[str, ReactorLookup] = {}  # at most two: a form repeats no field

    def field(self, name: str, value: str) -> None:
        """A field before the file is in: the one naming the access key starts the secret's lookup."""
        if name == "awsaccesskeyid":
            access_key = value.strip()
        elif name == "x-amz-credential":
            access_key = value.strip().split("/", 1)[0]
        else:
            return
        if access_key:
            self._lookup(access_key)

    def before_file(self, fields: dict, filename: str) -> Any:
        """→ the file's byte limit now (None: the object limit alone), or a Pending verdict; S3's refusal
        when the form is refused by what needs no secret."""
        if "key" not in fields:
            raise missing_key()
        credentials = parse_post(fields) if SIGNED_FIELDS.intersection(fields) else None
        seen = with_filename(fields, filename)  # S3 judges the key it will store, ${filename} replaced
        if credentials is None:
            # An anonymous form: refused now if the bucket takes no anonymous writes, so no stranger's bytes
            # reach the disk.
            key = seen["key"]
            if key and not self.res.ops.allowed(None, "s3:PutObject", self.call.bucket, key,
                                                context={**self.call.context, **form_keys(seen)}):
                raise S3Error("AccessDenied")
            return None
        began = datetime.now(timezone.utc)
        return Pending(self._lookup(credentials.access_key),
                       lambda secret: self._judge(credentials, secret, seen, began))

    def _judge(self, credentials: PostCredentials, secret: Optional[str], fields: dict,
               began: datetime) -> Optional[int]:
        verify_post(credentials, secret)
        policy = parse_policy(fields["policy"])
        check_fields(policy, fields, self.call.bucket, began)
        limits = policy.length_range
        return limits[1] if limits else None

    def _lookup(self, access_key: str) -> ReactorLookup:
        lookup = self._lookups.get(access_key)
        if lookup is None:
            lookup = self._lookups[access_key] = ReactorLookup(lambda: self.res.credentials.secret_for(access_key))
        return lookup
