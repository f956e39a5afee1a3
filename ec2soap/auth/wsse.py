"""WS-Security for EC2 over SOAP: the hardened XML parser and the X.509 signature check of an envelope.

No Twisted, Spyne or SQL here (lxml, xmlsec and cryptography only); the caller runs these blocking functions
on a pool thread and supplies the certificate lookup.

What a request must carry (ec2-api-tools 1.3 and zeep's BinarySignature send exactly this): one
wsse:Security header holding a wsse:BinarySecurityToken (base64 DER X.509, ValueType X509v3), a
wsu:Timestamp, and one ds:Signature (RSA-SHA1 or RSA-SHA256, exclusive or inclusive c14n) whose
References cover the soap:Body and the Timestamp by wsu:Id, and whose KeyInfo points at the token through a
wsse:SecurityTokenReference. The original (cloudbridge.md §3.3) read the token and never checked the
signature; every check below is one it skipped.

Signature wrapping: each Reference must resolve to exactly one element of the whole document, and that
element must be *the* Body (the Envelope's only Body child, the only soap Body anywhere), *the* Timestamp
(the only one, in the one Security header) or the signing token itself. Nothing is looked up by position
after the check: `SignedEnvelope.body` is the element that was verified, and the one to dispatch.
"""
from __future__ import annotations

import base64
import binascii
import functools
import inspect
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from ec2soap.limits import MAX_XML_DEPTH, LimitExceeded, parse_xml

from .certificates import CertificateError, RegisteredCertificate, load_der
from .errors import AuthError
from .signatures import parse_timestamp

__all__ = [
    "MAX_BODY_BYTES", "DEFAULT_MAX_SKEW", "XmlRejected", "WsseError", "SignedEnvelope", "VerifiedCaller",
    "parse_hardened", "check_envelope", "verify_envelope",
]

MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = MAX_XML_DEPTH  # a signed envelope nests about 10 levels, an EC2 request inside it at most 8 more
DEFAULT_MAX_SKEW = timedelta(minutes=5)

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
X509V3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
BASE64_BINARY = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"

_WSU_ID = f"{{{WSU_NS}}}Id"
_SIGNATURE_METHODS = {
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": xmlsec.Transform.RSA_SHA1,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": xmlsec.Transform.RSA_SHA256,
}
_C14N = {
    "http://www.w3.org/2001/10/xml-exc-c14n#": xmlsec.Transform.EXCL_C14N,
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315": xmlsec.Transform.C14N,
}
_DIGESTS = {
    "http://www.w3.org/2000/09/xmldsig#sha1": xmlsec.Transform.SHA1,
    "http://www.w3.org/2001/04/xmlenc#sha256": xmlsec.Transform.SHA256,
}
# A same-document reference by a bare NCName id; no xpointer(), no external URI, no whole-document "".
_ID_URI = re.compile(r"^#([A-Za-z_][A-Za-z0-9_.\-]*)$")
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

LookupCert = Callable[[bytes], Optional[tuple[str, str]]]


class XmlRejected(Exception):
    """The body was refused before any SOAP processing. `reason` is one of too_large, too_deep, doctype, malformed;
    `code` is the EC2 code for the Client fault; the message never quotes the body."""

    code = "InvalidRequest"

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


class WsseError(AuthError):
    """A SOAP request that does not authenticate: always EC2's AuthFailure (fault Client.AuthFailure). The
    message says which check failed and never holds a secret, a key or a signature value."""

    def __init__(self, message: str):
        super().__init__("AuthFailure", message)


def parse_hardened(body: bytes, *, max_bytes: int = MAX_BODY_BYTES) -> etree._Element:
    """The request body → its root element, or XmlRejected.

    Refused: bodies over `max_bytes`, any DOCTYPE or ENTITY declaration (so no entity expansion, no external
    entity, no DTD fetch), and anything not well-formed. The parser itself also resolves no entities, loads
    no DTD, touches no network and keeps libxml2's size and depth limits (huge_tree off)."""
    data = bytes(body)
    if len(data) > max_bytes:
        raise XmlRejected("too_large", f"the request body is larger than the limit of {max_bytes} bytes")
    if not data.strip():
        raise XmlRejected("malformed", "the request body is empty")
    # A fast refusal for ASCII-compatible encodings; the docinfo check below catches the rest (UTF-16).
    if _DOCTYPE.search(data):
        raise XmlRejected("doctype", "DTDs and entity declarations are not allowed in a SOAP request")
    try:
        # The shared hardened parser and its nesting bound (ec2soap.limits); the size was checked above.
        root = parse_xml(data, max_bytes=max_bytes, max_depth=MAX_DEPTH)
    except LimitExceeded as exc:
        raise XmlRejected("too_deep", f"the request body nests elements deeper than {exc.limit} levels") from None
    except etree.XMLSyntaxError as exc:
        where = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        raise XmlRejected("malformed", f"the request body is not well-formed XML{where}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XmlRejected("doctype", "DTDs and entity declarations are not allowed in a SOAP request")
    if next(root.iter(etree.Entity), None) is not None:  # lxml picks them out itself, no Python per node
        raise XmlRejected("doctype", "entity references are not allowed in a SOAP request")
    return root


@dataclass(frozen=True)
class SignedEnvelope:
    """What check_envelope proved: `body` and `timestamp` are the elements the signature covers, signed with
    the key of `certificate` (the request's BinarySecurityToken)."""
    envelope: etree._Element = field(repr=False)
    body: etree._Element = field(repr=False)
    timestamp: etree._Element = field(repr=False)
    certificate: RegisteredCertificate
    signature_method: str
    created: datetime
    expires: datetime | None


@dataclass(frozen=True)
class VerifiedCaller:
    """The user a verified request acts for: their CloudStack keys, and the certificate that proved it."""
    access_key: str
    secret_key: str = field(repr=False)
    certificate_id: str = ""
    fingerprint: str = ""
    body: etree._Element | None = field(default=None, repr=False, compare=False)


def verify_envelope(envelope_root: etree._Element, *, now: datetime,
                    max_skew: timedelta = DEFAULT_MAX_SKEW, lookup_cert: LookupCert) -> VerifiedCaller:
    """check_envelope, then the registered user of the token's certificate.

    `lookup_cert(der) → (access_key, secret_key) | None` must be synchronous (it runs on the same pool thread;
    Credentials.caller_for_certificate_sync is one). It must compare the whole certificate, not only issuer
    and serial. Each call starts from nothing: there is no state a previous caller could leave behind."""
    signed = check_envelope(envelope_root, now=now, max_skew=max_skew)
    found = lookup_cert(signed.certificate.der)
    if inspect.isawaitable(found):
        if inspect.iscoroutine(found):
            found.close()
        raise TypeError("lookup_cert must be synchronous; use check_envelope and await the lookup yourself")
    if not found:
        raise WsseError("User not properly registered: the certificate does not map to CloudStack API keys "
                        "(register it with SetCertificate)")
    access_key, secret_key = found
    return VerifiedCaller(access_key=access_key, secret_key=secret_key, certificate_id=signed.certificate.unique_id,
                          fingerprint=signed.certificate.fingerprint, body=signed.body)


def check_envelope(envelope_root: etree._Element, *, now: datetime,
                   max_skew: timedelta = DEFAULT_MAX_SKEW) -> SignedEnvelope:
    """Every check that needs no database: structure, Timestamp freshness, References, the signature.

    `now` is the server's time (naive means UTC); the Timestamp's Created must lie within `max_skew` of it
    and its Expires, when given, after it. Raises WsseError."""
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    envelope, header, body = _envelope_parts(envelope_root)
    security = _one(header, f"{{{WSSE_NS}}}Security", "wsse:Security header")
    timestamp = _one(security, f"{{{WSU_NS}}}Timestamp", "wsu:Timestamp in the Security header")
    signature = _one(security, f"{{{DS_NS}}}Signature", "ds:Signature in the Security header")
    created, expires = _check_timestamp(timestamp, now, max_skew)

    signed_info = _one(signature, f"{{{DS_NS}}}SignedInfo", "ds:SignedInfo")
    c14n = _algorithm(_one(signed_info, f"{{{DS_NS}}}CanonicalizationMethod", "ds:CanonicalizationMethod"))
    if c14n not in _C14N:
        raise WsseError("the signature's canonicalization method is not supported (use exclusive c14n)")
    method = _algorithm(_one(signed_info, f"{{{DS_NS}}}SignatureMethod", "ds:SignatureMethod"))
    if method not in _SIGNATURE_METHODS:
        raise WsseError("the signature method is not supported (use rsa-sha1 or rsa-sha256)")

    ids = _id_index(envelope)
    token = _signing_token(signature, security, ids)
    certificate = _token_certificate(token)
    covered = _references(signed_info, ids, body=body, timestamp=timestamp, token=token)

    ctx = xmlsec.SignatureContext()
    for node in covered:
        ctx.register_id(node, "Id", WSU_NS)
    for transform in (*_C14N.values(), *_SIGNATURE_METHODS.values()):
        ctx.enable_signature_transform(transform)
    for transform in (*_C14N.values(), *_DIGESTS.values()):
        ctx.enable_reference_transform(transform)
    try:
        key = _verification_key(certificate.der)
    except (xmlsec.Error, ValueError):
        raise WsseError("the BinarySecurityToken's public key cannot be used") from None
    with _KEY_LOCK:
        ctx.key = key  # xmlsec gives the context its own copy of the key
    try:
        ctx.verify(signature)
    except xmlsec.Error:
        # xmlsec says no more than "failed": a changed Body or Timestamp, or another key, all end here.
        raise WsseError("the XML signature does not verify (the message was changed or signed with another "
                        "key than the BinarySecurityToken's)") from None
    return SignedEnvelope(envelope=envelope, body=body, timestamp=timestamp, certificate=certificate,
                          signature_method=method, created=created, expires=expires)


# The certificate's public key as xmlsec loads it, kept for the last certificates seen (keyed by their exact DER
# bytes: the key is a function of them alone, nothing else about the request or the caller). Besides the load,
# a key verified with before verifies faster (OpenSSL keeps its RSA precomputation with the key): check_envelope
# of a 2048-bit signature went from about 0.45 to 0.33 ms. Ordinary-size certificates only (bounded memory).
# The key is the certificate's bare public key (SubjectPublicKeyInfo), not the certificate: xmlsec copies the key
# into every SignatureContext, and a key loaded from the certificate carries the X.509 certificate with it, which
# each copy re-parses (X509_dup) and each context frees again: a third of xmlsec's verify (profile: 26 % in
# xmlSecOpenSSLKeyDataX509Duplicate, 9 % in freeing it), 0.28 -> 0.18 ms. Nothing in the check reads the
# certificate from the key: it is used only to verify the signature value.
_KEY_LOCK = threading.Lock()


def _verification_key(der: bytes) -> xmlsec.Key:
    return _key_memo(der) if len(der) <= 8192 else _load_key(der)


def _load_key(der: bytes) -> xmlsec.Key:
    public_key = x509.load_der_x509_certificate(der).public_key()  # ValueError: not a certificate
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return xmlsec.Key.from_memory(spki, xmlsec.KeyFormat.DER)


_key_memo = functools.lru_cache(maxsize=256)(_load_key)  # a refusal raises: never kept


def _envelope_parts(root: etree._Element) -> tuple[etree._Element, etree._Element, etree._Element]:
    if not isinstance(root, etree._Element) or not isinstance(root.tag, str):
        raise WsseError("the request is not a SOAP envelope")
    qname = etree.QName(root)
    if qname.localname != "Envelope" or qname.namespace not in (SOAP11_NS, SOAP12_NS):
        raise WsseError("the request is not a SOAP envelope")
    soap = qname.namespace
    bodies = [node for node in root.iter(f"{{{SOAP11_NS}}}Body", f"{{{SOAP12_NS}}}Body")]
    direct = [node for node in bodies if node.getparent() is root]
    if len(bodies) != 1 or len(direct) != 1 or direct[0].tag != f"{{{soap}}}Body":
        raise WsseError("the envelope must hold exactly one soap:Body, directly under the Envelope")
    headers = [node for node in root if node.tag == f"{{{soap}}}Header"]
    if not headers:
        raise WsseError("the request carries no WS-Security header")
    if len(headers) > 1:
        raise WsseError("the envelope holds more than one soap:Header")
    return root, headers[0], direct[0]


def _one(parent: etree._Element, tag: str, what: str) -> etree._Element:
    found = parent.findall(tag)
    if not found:
        raise WsseError(f"the request has no {what}")
    if len(found) > 1:
        raise WsseError(f"the request has more than one {what}")
    return found[0]


def _algorithm(node: etree._Element) -> str:
    return (node.get("Algorithm") or "").strip()


def _check_timestamp(timestamp: etree._Element, now: datetime,
                     max_skew: timedelta) -> tuple[datetime, datetime | None]:
    created_node = _one(timestamp, f"{{{WSU_NS}}}Created", "wsu:Created in the Timestamp")
    expires_nodes = timestamp.findall(f"{{{WSU_NS}}}Expires")
    if len(expires_nodes) > 1:
        raise WsseError("the Timestamp has more than one wsu:Expires")
    try:
        created = parse_timestamp(created_node.text or "")
        expires = parse_timestamp(expires_nodes[0].text or "") if expires_nodes else None
    except ValueError:
        raise WsseError("the Timestamp's Created or Expires is not an xsd:dateTime") from None
    if created > now + max_skew:
        raise WsseError("the Timestamp's Created lies in the future (check the client's clock)")
    if created < now - max_skew:
        raise WsseError("the Timestamp is too old: the message has expired")
    if expires is not None and (expires <= now or expires < created):
        raise WsseError("the Timestamp's Expires has passed: the message has expired")
    return created, expires


def _id_index(root: etree._Element) -> dict[str, list[etree._Element]]:
    """Every element carrying an id-like attribute (wsu:Id, Id, ID, id, xml:id), by value: a value owned by
    two elements is how a wrapping attack points a Reference at a copy."""
    index: dict[str, list[etree._Element]] = {}
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        for name, value in node.attrib.items():
            if name.rpartition("}")[2] in ("Id", "ID", "id"):  # the local name, namespaced or not
                index.setdefault(value.strip(), []).append(node)
    return index


def _resolve(uri: str | None, ids: dict[str, list[etree._Element]], what: str) -> etree._Element:
    match = _ID_URI.match((uri or "").strip())
    if not match:
        raise WsseError(f"{what} must point at a wsu:Id in this message (URI=\"#id\")")
    owners = ids.get(match.group(1), [])
    if len(owners) != 1:
        raise WsseError(f"{what} points at {'no element' if not owners else 'more than one element'}")
    node = owners[0]
    if node.get(_WSU_ID) != match.group(1):
        raise WsseError(f"{what} must point at a wsu:Id attribute")
    return node


def _signing_token(signature: etree._Element, security: etree._Element,
                   ids: dict[str, list[etree._Element]]) -> etree._Element:
    key_info = _one(signature, f"{{{DS_NS}}}KeyInfo", "ds:KeyInfo in the Signature")
    if len([node for node in key_info if isinstance(node.tag, str)]) != 1:
        raise WsseError("the signature's KeyInfo must hold only a wsse:SecurityTokenReference")
    reference_holder = _one(key_info, f"{{{WSSE_NS}}}SecurityTokenReference",
                            "wsse:SecurityTokenReference in the KeyInfo")
    reference = _one(reference_holder, f"{{{WSSE_NS}}}Reference",
                     "wsse:Reference to the BinarySecurityToken (other key identifiers are not supported)")
    if reference.get("ValueType") not in (None, X509V3):
        raise WsseError("the SecurityTokenReference must name an X509v3 token")
    token = _resolve(reference.get("URI"), ids, "the SecurityTokenReference")
    if token.tag != f"{{{WSSE_NS}}}BinarySecurityToken" or token.getparent() is not security:
        raise WsseError("the SecurityTokenReference must point at a BinarySecurityToken in the Security header")
    return token


def _token_certificate(token: etree._Element) -> RegisteredCertificate:
    if token.get("ValueType") != X509V3:
        raise WsseError("the BinarySecurityToken must be an X.509 v3 certificate (ValueType X509v3)")
    if token.get("EncodingType") not in (None, BASE64_BINARY):
        raise WsseError("the BinarySecurityToken must be Base64Binary")
    try:
        der = base64.b64decode("".join((token.text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise WsseError("the BinarySecurityToken is not valid base64") from None
    try:
        return load_der(der)
    except CertificateError as exc:
        raise WsseError(f"the BinarySecurityToken cannot be used: {exc}") from None


def _references(signed_info: etree._Element, ids: dict[str, list[etree._Element]], *, body: etree._Element,
                timestamp: etree._Element, token: etree._Element) -> list[etree._Element]:
    """The elements the References sign; each must be the Body, the Timestamp or the token, each once, and
    the Body and the Timestamp must both be there."""
    names = {id(body): "the soap:Body", id(timestamp): "the wsu:Timestamp", id(token): "the token"}
    covered: dict[int, etree._Element] = {}
    references = signed_info.findall(f"{{{DS_NS}}}Reference")
    if not references:
        raise WsseError("the signature has no References")
    for reference in references:
        node = _resolve(reference.get("URI"), ids, "a signature Reference")
        if id(node) not in names:
            raise WsseError("a signature Reference points at something other than the Body, the Timestamp or "
                            "the token")
        if id(node) in covered:
            raise WsseError(f"{names[id(node)]} is referenced twice")
        covered[id(node)] = node
        transforms = reference.findall(f"{{{DS_NS}}}Transforms/{{{DS_NS}}}Transform")
        if any(_algorithm(t) not in _C14N for t in transforms):
            raise WsseError("a signature Reference uses a transform other than c14n")
        digest = _one(reference, f"{{{DS_NS}}}DigestMethod", "ds:DigestMethod in a Reference")
        if _algorithm(digest) not in _DIGESTS:
            raise WsseError("a signature Reference uses an unsupported digest (use sha1 or sha256)")
    if id(body) not in covered:
        raise WsseError("the signature does not cover the soap:Body")
    if id(timestamp) not in covered:
        raise WsseError("the signature does not cover the wsu:Timestamp")
    return list(covered.values())
