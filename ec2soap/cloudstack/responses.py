"""CloudStack responses → results (§6-§8 of ../shared/reference/cloudstack-api/protocol.md), for every transport.

Moved out of client.py: parse_response (errors, the response key), list_page, object_result, success_result,
async_started and job_outcome (a queryAsyncJobResult body → PENDING, the job's object, True, or a failure).
"""
from __future__ import annotations

import json
from typing import Any, Mapping

import orjson

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.errors import (CloudStackApiError, CloudStackAuthError, CloudStackBadResponse,
                                       CloudStackJobFailed)

__all__ = ["parse_response", "response_key", "list_page", "object_result", "success_result", "async_started",
           "job_outcome", "raw_outcome", "PENDING"]

class _Pending:
    def __repr__(self) -> str:
        return "PENDING"


PENDING: Any = _Pending()
"""job_outcome's answer for a job that is still running (jobstatus 0)."""


def response_key(command: str) -> str:
    """lowercase(command) + "response" (§6); the spec agrees for every command it knows."""
    entry = spec.commands().get(command)
    return entry["responsekey"] if entry else command.lower() + "response"


def _as_int(value: Any, default: int | None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _error_body(doc: dict, key: str, status: int) -> dict | None:
    """The error object of an error response (§7), wherever CloudStack put it, else None."""
    candidates = [doc.get(key), doc.get("errorresponse")]
    if status != 200 and len(doc) == 1:
        # The key is the command's own, or errorresponse; a proxy or an older server may use another.
        candidates.append(next(iter(doc.values())))
    for inner in candidates:
        if isinstance(inner, dict) and "errorcode" in inner:
            return inner
    return None


def _api_error(command: str, status: int, inner: dict) -> CloudStackApiError:
    code = _as_int(inner.get("errorcode"), status) or status
    text = str(inner.get("errortext", "")) or f"HTTP {status}"
    uuids = inner.get("uuidList") if isinstance(inner.get("uuidList"), list) else []
    kind = CloudStackAuthError if code == 401 or status == 401 else CloudStackApiError
    return kind(code, text, cserrorcode=_as_int(inner.get("cserrorcode"), None), command=command, uuids=uuids)


def _snippet(body: bytes | str) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else body
    text = " ".join(text.split())
    return text[:120] + ("…" if len(text) > 120 else "")


def parse_response(command: str, status: int, body: bytes | str | Mapping[str, Any]) -> dict:
    """One API response → the inner object under the command's response key (what `call` returns).

    Raises CloudStackAuthError (401) / CloudStackApiError for CloudStack error bodies, and CloudStackBadResponse
    for anything that is not CloudStack's JSON: HTML error pages, garbage, a missing response key."""
    key = response_key(command)
    if isinstance(body, (bytes, bytearray, str)):
        try:
            try:
                doc = orjson.loads(body)
            except orjson.JSONDecodeError:
                # Strict and fast first; the standard parser also reads what older servers may send (NaN).
                text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
                doc = json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError):
            what = "an empty body" if not body.strip() else f"not JSON: {_snippet(body)!r}"
            raise CloudStackBadResponse(f"{command}: HTTP {status} with {what}", status=status,
                                        command=command) from None
    else:
        doc = body
    if not isinstance(doc, dict):
        raise CloudStackBadResponse(f"{command}: HTTP {status} with a JSON {type(doc).__name__}, not an object",
                                    status=status, command=command)
    error = _error_body(doc, key, status)
    if error is not None:
        raise _api_error(command, status, error)
    if status != 200:
        raise CloudStackBadResponse(f"{command}: HTTP {status} without a CloudStack error body",
                                    status=status, command=command)
    inner = doc.get(key)
    if not isinstance(inner, dict):
        found = ", ".join(sorted(map(str, doc))[:3]) or "nothing"
        raise CloudStackBadResponse(f"{command}: expected {key!r} in the response, found {found}",
                                    status=status, command=command)
    return inner


def _bad(command: str, message: str) -> CloudStackBadResponse:
    return CloudStackBadResponse(f"{command}: {message}", status=200, command=command)


def list_page(command: str, inner: Mapping[str, Any]) -> tuple[int | None, list]:
    """A list response's (count, items) (§6): {} is (0, []); {"count": N} is a page past the end."""
    entry = spec.commands().get(command) or {}
    item_key = entry.get("listitemkey")
    items = inner.get(item_key) if item_key else None
    if items is None:
        # Fall back to "the one key that is not count", as the cs client does, for commands the spec does not
        # name or a server that names the items differently.
        others = [v for k, v in inner.items() if k != "count" and isinstance(v, list)]
        items = others[0] if len(others) == 1 else []
    if not isinstance(items, list):
        raise _bad(command, f"list items under {item_key!r} are a {type(items).__name__}")
    count = _as_int(inner.get("count"), None) if "count" in inner else (0 if not items else None)
    if "count" in inner and count is None:
        raise _bad(command, f"count is {inner.get('count')!r}")
    return count, items


def _one_object(command: str, holder: Mapping[str, Any], key: str | None, where: str) -> Any:
    if key and key in holder:
        return holder[key]
    objects = [v for v in holder.values() if isinstance(v, dict)]
    if len(objects) == 1 and len(holder) == 1:
        return objects[0]  # an object key this version names differently; the shape is unambiguous
    raise _bad(command, f"no {key or 'object'!r} in the {where}")


def object_result(command: str, inner: Mapping[str, Any]) -> Any:
    """A single-object response's object, e.g. createSSHKeyPair → the `keypair` dict."""
    entry = spec.commands().get(command) or {}
    return _one_object(command, inner, entry.get("objectkey"), "response")


def _success(command: str, holder: Mapping[str, Any]) -> bool:
    # CloudStack quirk: up to 4.11 `success` was the string "true" (§6).
    value = holder.get("success")
    if value is True or (isinstance(value, str) and value.lower() == "true"):
        return True
    if value is False or (isinstance(value, str) and value.lower() == "false"):
        text = holder.get("displaytext") or holder.get("details") or "CloudStack reported success=false"
        raise CloudStackApiError(530, str(text), command=command)
    raise _bad(command, "no 'success' in the response")


def success_result(command: str, inner: Mapping[str, Any]) -> bool:
    """A SuccessResponse (`{"success": true}`) → True."""
    return _success(command, inner)


def async_started(command: str, inner: Mapping[str, Any]) -> dict:
    """An async command's immediate answer (§8): {"jobid": ...} plus "id" for create-style commands."""
    if not isinstance(inner.get("jobid"), str) or not inner["jobid"]:
        raise _bad(command, "no jobid in the async response")
    return dict(inner)


def job_outcome(command: str, job: Mapping[str, Any], jobid: str = "") -> Any:
    """What a queryAsyncJobResult body means for COMMAND: PENDING while running, the job's object (or True for
    a success job) once it succeeded; CloudStackJobFailed if it failed (§8)."""
    jobid = str(job.get("jobid") or jobid)
    status = _as_int(job.get("jobstatus"), None)
    if status is None:
        raise _bad(command, f"job {jobid} has no jobstatus")
    if status == 0:
        return PENDING
    result = job.get("jobresult")
    if status != 1:
        # 2 = failed; 3 (CANCELLED in JobInfo.Status) carries no errorcode of its own.
        detail = result if isinstance(result, dict) else {}
        code = _as_int(detail.get("errorcode"), None) or _as_int(job.get("jobresultcode"), None) or 530
        text = str(detail.get("errortext") or ("job cancelled" if status == 3 else "job failed"))
        raise CloudStackJobFailed(code, text, jobid=jobid, command=command)
    if not isinstance(result, dict):
        raise _bad(command, f"job {jobid} succeeded without a jobresult object")
    entry = spec.commands().get(command) or {}
    if entry.get("jobresultkind") == "success" or ("success" in result and entry.get("jobresultkey") not in result):
        return _success(command, result)
    if not entry:
        return result  # a command the spec does not know: hand back the jobresult as it came
    return _one_object(command, result, entry.get("jobresultkey"), f"result of job {jobid}")


def raw_outcome(job: Mapping[str, Any], jobid: str) -> Any:
    """job_outcome without a command: the jobresult dict itself."""
    if _as_int(job.get("jobstatus"), None) == 1 and isinstance(job.get("jobresult"), dict):
        return job["jobresult"]
    return job_outcome("", job, jobid)
