"""Gateway.call(action, caller, **kwargs) → Deferred: the one door from the adapters (Query, SOAP) to the core,
for EC2's actions and the original awsapi's own (SetUserKeys, SetOfferMapping, ...: core/extensions.py) alike.

It builds the RequestContext (a CloudStack client bound to the caller's keys, the id map), drives the core
coroutine with Deferred.fromCoroutine, and turns CloudStack failures nobody translated into EC2 errors without
leaking CloudStack's text: its parameter errors (430/431) into InvalidParameterValue, the rest into
InternalError. The core itself imports nothing from Twisted.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from twisted.internet.defer import Deferred

from ec2soap.cloudstack.errors import (CloudStackApiError, CloudStackAuthError, CloudStackError,
                                       CloudStackJobTimeout, CloudStackUnavailable)
from ec2soap.core.context import CoreSettings, RequestContext
from ec2soap.core.operations import GATEWAY_ACTIONS
from ec2soap.errors import ERRORS, EC2Error, unsupported

__all__ = ["Gateway", "Caller", "new_request_id"]

log = logging.getLogger(__name__)

# CloudStack's MALFORMED_PARAMETER_ERROR (430) and PARAM_ERROR (431): what the request carried is not valid.
_PARAMETER_ERRORS = frozenset({430, 431})


def new_request_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: their CloudStack API key and secret (= EC2 access key and secret)."""
    access_key: str
    secret_key: str


class Gateway:
    def __init__(self, *, cloud_for: Callable[[str, str], Any], ids: Any, offerings: Any,
                 settings: CoreSettings | None = None, operations: dict | None = None, records: Any = None,
                 admin: Any = None, snapshots: Any = None, tags: Any = None, credentials: Any = None,
                 objects: Any = None):
        self.records, self.admin, self.snapshots, self.tags = records, admin, snapshots, tags
        self.objects = objects  # store.ec2_objects.ObjectRecords
        self.credentials = credentials  # core.context.CredentialStore: SetUserKeys, SetCertificate
        self.cloud_for = cloud_for
        self.ids = ids
        self.offerings = offerings
        self.settings = settings or CoreSettings()
        self.operations = GATEWAY_ACTIONS if operations is None else operations

    def supports(self, action: str) -> bool:
        return action in self.operations

    def call(self, action: str, caller: Caller, kwargs: dict[str, Any], request_id: str | None = None,
             extras: dict[str, Any] | None = None) -> Deferred:
        """EXTRAS are facts of the request the core may use (e.g. "host": the Host it came in on)."""
        request_id = request_id or new_request_id()
        if action not in self.operations:
            raise unsupported(action)
        ctx = RequestContext(request_id=request_id, access_key=caller.access_key,
                             cloud=self.cloud_for(caller.access_key, caller.secret_key), ids=self.ids,
                             offerings=self.offerings, settings=self.settings, extras=dict(extras or {}),
                             records=self.records, admin=self.admin, snapshots=self.snapshots,
                             tags=self.tags, credentials=self.credentials, objects=self.objects)
        started = time.monotonic()

        async def run() -> Any:
            try:
                return await self.operations[action](ctx, **kwargs)
            except EC2Error:
                raise
            except CloudStackAuthError:
                raise ERRORS["AuthFailure"]() from None
            except CloudStackJobTimeout as exc:
                raise ERRORS["RequestTimeout"](job=exc.jobid, seconds=f"{exc.waited:.0f}") from None
            except CloudStackUnavailable:
                log.warning("request %s %s: CloudStack unreachable", request_id, action)
                raise ERRORS["Unavailable"]() from None
            except CloudStackApiError as exc:
                if exc.errorcode in _PARAMETER_ERRORS:
                    # The caller's input, refused by CloudStack's own checks (a character or length CloudStack
                    # does not take, a malformed value): a client error, without CloudStack's text.
                    log.info("request %s %s: CloudStack refused a parameter (%s): %s", request_id, action,
                             exc.errorcode, exc.errortext)
                    raise ERRORS["InvalidParameterValue"](
                        detail=f"A parameter of this {action} request has a value that is not valid") from None
                log.error("request %s %s: untranslated CloudStack error: %s", request_id, action, exc)
                raise ERRORS["InternalError"]() from None
            except CloudStackError as exc:
                log.error("request %s %s: untranslated CloudStack error: %s", request_id, action, exc)
                raise ERRORS["InternalError"]() from None
            except Exception:
                log.exception("request %s %s failed", request_id, action)
                raise ERRORS["InternalError"]() from None
            finally:
                log.debug("request %s %s took %.3f s", request_id, action, time.monotonic() - started)

        return Deferred.fromCoroutine(run())
