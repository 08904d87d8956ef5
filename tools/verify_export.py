#!/usr/bin/env python3
"""Verify a govtrail lineage packet offline, without govtrail.

Usage:

    python3 tools/verify_export.py PACKET --public-key KEY [--json]

PACKET is the file that `GET /v1/exports/entities/<Type>/<id>` returned: a DSSE
envelope (https://github.com/secure-systems-lab/dsse) whose payload is an in-toto
Statement (`https://in-toto.io/Statement/v1`) with the predicate
`https://govtrail.dev/lineage-packet/v1`. KEY is the govtrail public key, as PEM
(SubjectPublicKeyInfo, `publicKeyPem` of `/v1/audit/keys`) or as the base64 of the 32
raw Ed25519 bytes (`publicKey` of `/v1/audit/keys`).

The verdict is printed as text (first line `VALID <subject>` or `INVALID <subject>`,
then a summary line, then one `  problem: ...` line per problem and one
`  warning: ...` line per warning) or, with --json, as the JSON object
{valid, subject, entries, sealed, checkpoints, problems, warnings}. Exit status: 0
when the packet is valid, 1 when it is not, 2 when a file cannot be read or the key
is unusable (the reason goes to standard error).

What is checked, in this order (the same checks, in the same order and with the same
sentences, as `govtrail verify-export`, src/export/offline.rs):

1. the file is a DSSE envelope (`payload`, `payloadType`, `signatures`, nothing else)
   and its payload type is `application/vnd.in-toto+json`;
2. one envelope signature verifies under the key: Ed25519 over the DSSE
   pre-authentication encoding "DSSEv1 <len(type)> <type> <len(payload)> <payload>";
   if none does, the payload is still read to say what else was changed; DSSE does
   not sign key ids, so the key id the verifying signature names must be the one the
   signed packet states (`signerKeyId`);
3. the payload is an in-toto Statement holding a govtrail lineage packet, and its
   subject names the entity (`govtrail:<Type>/<id>`) with the SHA-256 of the RFC 8785
   form of the entity's state, which must match the state's stated digest;
4. every history entry's `hash` is the SHA-256 (hex) of the RFC 8785 form of the entry
   without `hash` and without null-valued fields, `timestamp` normalized to RFC 3339
   UTC with six fractional digits; no entry appears twice; every entry audits the
   entity;
5. the entries form the entity's hash chain in packet order: the first entry's
   `prevHashes` holds "<entity id>=GENESIS", each next one "<entity id>=<hash of the
   one before>", and the last one is the entity's `auditHead`;
6. every checkpoint's hash (SHA-256 of the RFC 8785 form of the checkpoint without
   `hash` and `signature`, `sealedAt` normalized like `timestamp`), its Ed25519
   signature (over the ASCII hex text of that hash) and its count;
7. every sealed entry's RFC 9162 (RFC 6962) Merkle inclusion proof against the root
   of the checkpoint that lists it at the proof's leaf index (leaf = the entry's hex
   hash text, leaf hash = SHA-256(0x00 || leaf), node = SHA-256(0x01 || left ||
   right)); entries not sealed yet are reported as a warning.

RFC 8785 (JCS) here covers the JSON values govtrail writes: objects (keys sorted by
UTF-16 code units), arrays, strings (escaped as JSON.stringify does), integers,
booleans and null, without whitespace. Integers are written as ECMAScript writes the
IEEE double nearest to them, as govtrail does (exact below 2^53). govtrail never
writes non-integer numbers in what it hashes: an entry, state or checkpoint holding one
is reported as a problem, because this verifier does not canonicalize such numbers.

The JSON is read as govtrail reads it (serde_json): invalid UTF-8, unpaired surrogate
escapes, numbers beyond the double range and nesting of 128 levels or more are errors
in what is read, duplicated field names are errors in the fixed parts of the format.
When the packet is not in the expected shape, the detail after "the payload is not a
govtrail lineage packet:" is this verifier's own wording, not govtrail's.

Requires Python 3.9 or later and the `cryptography` package.
"""

import argparse
import base64
import binascii
import hashlib
import json
import math
import re
import sys
from decimal import Decimal

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # pragma: no cover - depends on the auditor's machine
    sys.stderr.write(
        "verify_export.py: the Python package `cryptography` is required "
        "(pip install cryptography)\n"
    )
    sys.exit(2)

PROG = "verify_export.py"

GENESIS = "GENESIS"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://govtrail.dev/lineage-packet/v1"

NON_INTEGER = (
    "it holds a number that is not an integer, which govtrail never writes "
    "and this verifier does not canonicalize"
)

# serde_json refuses to read a container nested this deep (or deeper).
MAX_DEPTH = 128

# Ed25519: field prime, curve constant d, group order.
_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_L = 2**252 + 27742317777372353535851937790883648493

_SURROGATE = re.compile("[\ud800-\udfff]")
_HEX = re.compile(r"[0-9a-fA-F]*\Z")
# What Rust's str::trim removes (Unicode White_Space).
_RUST_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


# ---------------------------------------------------------------------------
# Reading JSON as serde_json does
# ---------------------------------------------------------------------------


class Malformed(Exception):
    """The JSON, or its shape, is not what the format says."""

    def __init__(self, detail, path=""):
        super().__init__(detail)
        self.detail = detail
        self.path = path

    def __str__(self):
        if not self.path:
            return self.detail
        path = self.path if len(self.path) <= 100 else self.path[:97] + "..."
        return f"{self.detail} at {path}"


class NonInteger(Exception):
    """A value to canonicalize holds a number that is not an integer."""


class JNumber:
    """A number serde_json reads as a double: a fraction, an exponent, -0, or an
    integer outside [-2^63, 2^64 - 1]. `value` is infinite when it is out of range."""

    __slots__ = ("text", "value")

    def __init__(self, text, value):
        self.text = text
        self.value = value

    def __repr__(self):
        return self.text


class JObject(dict):
    """A JSON object; `duplicates` lists the names that occurred more than once
    (the last value is kept, as serde_json does for maps)."""

    duplicates = ()


def _object(pairs):
    obj = JObject()
    duplicates = []
    for name, value in pairs:
        if name in obj:
            duplicates.append(name)
        obj[name] = value
    if duplicates:
        obj.duplicates = tuple(duplicates)
    return obj


def _integer(text):
    if text == "-0":
        return JNumber(text, -0.0)
    if len(text) <= 21:
        value = int(text)
        if -(2**63) <= value <= 2**64 - 1:
            return value
    return JNumber(text, float(text))


def _fraction(text):
    return JNumber(text, float(text))


def _constant(name):
    raise ValueError(f"`{name}` is not JSON")


# Python's words for JSON syntax errors, in serde_json's.
_JSON_ERRORS = (
    ("Expecting value", "expected value"),
    ("Unexpected UTF-8 BOM", "expected value"),
    ("Expecting ',' delimiter", "expected `,`"),
    ("Expecting ':' delimiter", "expected `:`"),
    ("Expecting property name", "key must be a string"),
    ("Extra data", "trailing characters"),
    ("Unterminated string", "EOF while parsing a string"),
    ("Invalid control character", "control character (\\u0000-\\u001F) found while parsing a string"),
    ("Invalid \\", "invalid escape"),
)


def parse_json(data):
    """Parses JSON bytes. Syntax errors raise Malformed; what serde_json checks only
    in the values it actually reads (strings' code points, number range, depth) is
    checked by the shape checkers below."""
    # Invalid UTF-8 becomes lone surrogates, which are refused wherever read.
    text = data.decode("utf-8", "surrogateescape")
    try:
        return json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_integer,
            parse_float=_fraction,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as e:
        message = e.msg[:1].lower() + e.msg[1:]
        for start, words in _JSON_ERRORS:
            if e.msg.startswith(start):
                message = words
                break
        raise Malformed(f"{message} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise Malformed("recursion limit exceeded") from None
    except (ValueError, TypeError) as e:
        raise Malformed(str(e)) from None


def _sub(path, name):
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def _enter(path, depth):
    if depth + 1 >= MAX_DEPTH:
        raise Malformed("recursion limit exceeded", path)


def _text(value, path):
    if _SURROGATE.search(value):
        raise Malformed("invalid unicode code point", path)
    return value


def _unexpected(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, JNumber):
        return f"floating point `{value.text}`"
    if isinstance(value, str):
        return "string " + json.dumps(value, ensure_ascii=True)
    if isinstance(value, list):
        return "sequence"
    return "map"


def _invalid_type(value, expected, path):
    return Malformed(f"invalid type: {_unexpected(value)}, expected {expected}", path)


def any_value(value, path, depth):
    """A serde_json `Value`: anything, its strings and numbers read strictly."""
    stack = [(value, path, depth)]
    while stack:
        v, p, d = stack.pop()
        if isinstance(v, str):
            _text(v, p)
        elif isinstance(v, JNumber):
            if not math.isfinite(v.value):
                raise Malformed("number out of range", p)
        elif isinstance(v, dict):
            _enter(p, d)
            for name, item in v.items():
                _text(name, p)
                stack.append((item, _sub(p, name), d + 1))
        elif isinstance(v, list):
            _enter(p, d)
            for i, item in enumerate(v):
                stack.append((item, _sub(p, i), d + 1))
    return value


def string(value, path, depth):
    if isinstance(value, str):
        return _text(value, path)
    raise _invalid_type(value, "a string", path)


def boolean(value, path, depth):
    if isinstance(value, bool):
        return value
    raise _invalid_type(value, "a boolean", path)


def integer(low, high, name):
    def check(value, path, depth):
        if isinstance(value, int) and not isinstance(value, bool):
            if low <= value <= high:
                return value
            raise Malformed(f"invalid value: integer `{value}`, expected {name}", path)
        if isinstance(value, JNumber) and not math.isfinite(value.value):
            raise Malformed("number out of range", path)
        raise _invalid_type(value, name, path)

    return check


u32 = integer(0, 2**32 - 1, "u32")
u64 = integer(0, 2**64 - 1, "u64")
i64 = integer(-(2**63), 2**63 - 1, "i64")


def option(checker):
    def check(value, path, depth):
        return None if value is None else checker(value, path, depth)

    check.optional = True
    return check


def sequence(checker):
    def check(value, path, depth):
        if not isinstance(value, list):
            raise _invalid_type(value, "a sequence", path)
        _enter(path, depth)
        return [checker(item, _sub(path, i), depth + 1) for i, item in enumerate(value)]

    return check


def string_map(value, path, depth):
    if not isinstance(value, dict):
        raise _invalid_type(value, "a map", path)
    _enter(path, depth)
    for name, item in value.items():
        _text(name, path)
        string(item, _sub(path, name), depth + 1)
    return dict(value)


def value_map(value, path, depth):
    if not isinstance(value, dict):
        raise _invalid_type(value, "a map", path)
    return any_value(value, path, depth)


def _one_of(names):
    quoted = [f"`{n}`" for n in names]
    if len(quoted) == 1:
        return quoted[0]
    if len(quoted) == 2:
        return f"{quoted[0]} or {quoted[1]}"
    return "one of " + ", ".join(quoted)


def struct(name, fields, deny_unknown=False):
    """A serde struct: a JSON object (or array, positionally) with these fields."""
    names = [f for f, _ in fields]

    def check(value, path, depth):
        out = {}
        if isinstance(value, dict):
            _enter(path, depth)
            for key in value:
                _text(key, path)
            for key in getattr(value, "duplicates", ()):
                if key in names:
                    raise Malformed(f"duplicate field `{key}`", path)
            if deny_unknown:
                for key in value:
                    if key not in names:
                        raise Malformed(
                            f"unknown field `{key}`, expected {_one_of(names)}", path
                        )
            for field, checker in fields:
                if field in value:
                    out[field] = checker(value[field], _sub(path, field), depth + 1)
                elif getattr(checker, "optional", False):
                    out[field] = None
                else:
                    raise Malformed(f"missing field `{field}`", path)
            return out
        if isinstance(value, list):
            _enter(path, depth)
            if len(value) != len(fields):
                raise Malformed(
                    f"invalid length {len(value)}, expected struct {name} "
                    f"with {len(fields)} elements",
                    path,
                )
            for i, (field, checker) in enumerate(fields):
                out[field] = checker(value[i], _sub(path, i), depth + 1)
            return out
        raise _invalid_type(value, f"struct {name}", path)

    return check


ENVELOPE = struct(
    "Envelope",
    [
        ("payload", string),
        ("payloadType", string),
        (
            "signatures",
            sequence(
                struct(
                    "EnvelopeSignature",
                    [("keyid", string), ("sig", string)],
                    deny_unknown=True,
                )
            ),
        ),
    ],
    deny_unknown=True,
)

PROOF = struct(
    "Proof",
    [
        ("checkpoint", i64),
        ("leafIndex", u64),
        ("treeSize", u64),
        ("auditPath", sequence(string)),
    ],
)

STATEMENT = struct(
    "Statement",
    [
        ("_type", string),
        ("subject", sequence(struct("Subject", [("name", string), ("digest", string_map)]))),
        ("predicateType", string),
        (
            "predicate",
            struct(
                "Packet",
                [
                    ("format", u32),
                    (
                        "entity",
                        struct(
                            "PacketEntity",
                            [
                                ("type", string),
                                ("id", string),
                                ("label", string),
                                ("deleted", boolean),
                                ("version", option(i64)),
                                ("auditHead", option(string)),
                                ("state", any_value),
                                ("stateDigest", string),
                            ],
                        ),
                    ),
                    ("policyVersion", string),
                    (
                        "exportedBy",
                        struct("Exporter", [("userId", string), ("roles", sequence(string))]),
                    ),
                    ("exportedAt", string),
                    ("exportEntryId", string),
                    ("signerKeyId", string),
                    (
                        "history",
                        sequence(
                            struct(
                                "HistoryItem",
                                [
                                    ("entry", value_map),
                                    (
                                        "context",
                                        struct(
                                            "EntryContext",
                                            [
                                                ("actorDisplayName", option(string)),
                                                ("actorErased", boolean),
                                            ],
                                            deny_unknown=True,
                                        ),
                                    ),
                                    ("proof", option(PROOF)),
                                ],
                                deny_unknown=True,
                            )
                        ),
                    ),
                    ("checkpoints", sequence(any_value)),
                    ("lineage", any_value),
                    ("inForce", any_value),
                ],
            ),
        ),
    ],
)


# ---------------------------------------------------------------------------
# RFC 8785 canonical JSON, timestamps, hashes
# ---------------------------------------------------------------------------


def _jcs_integer(n):
    # ECMAScript Number-to-String of the nearest double; all integers JSON can
    # carry here are below 1e21, so the result is plain digits.
    if -(2**53) <= n <= 2**53:
        return str(n)
    return str(int(Decimal(repr(float(n)))))


def _jcs_key(name):
    return name.encode("utf-16-be", "surrogatepass")


def _jcs(value, out):
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(_jcs_integer(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _jcs(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for i, name in enumerate(sorted(value, key=_jcs_key)):
            if i:
                out.append(",")
            out.append(json.dumps(name, ensure_ascii=False))
            out.append(":")
            _jcs(value[name], out)
        out.append("}")
    else:
        raise NonInteger()


def jcs(value):
    """RFC 8785 canonical JSON text of `value` (NonInteger for a non-integer)."""
    out = []
    _jcs(value, out)
    return "".join(out)


def jcs_digest(value):
    return hashlib.sha256(jcs(value).encode("utf-8")).hexdigest()


def _days_from_civil(y, m, d):
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z):
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d


def _days_in_month(y, m):
    if m == 2:
        return 29 if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def canonical_timestamp(text):
    """The canonical form (RFC 3339 UTC, six fractional digits, `Z`) of an RFC 3339
    time, read as govtrail reads it; None when it is not RFC 3339."""
    b = text.encode("utf-8", "surrogatepass")
    if len(b) < 19:
        return None

    def digits(i, n):
        part = b[i : i + n]
        if len(part) != n or not all(0x30 <= c <= 0x39 for c in part):
            raise ValueError
        return int(part)

    try:
        year = digits(0, 4)
        if b[4:5] != b"-":
            return None
        month = digits(5, 2)
        if b[7:8] != b"-":
            return None
        day = digits(8, 2)
        if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
            return None
        if b[10:11] not in (b"t", b"T", b" "):
            return None
        hour = digits(11, 2)
        if b[13:14] != b":":
            return None
        minute = digits(14, 2)
        if b[16:17] != b":":
            return None
        second = digits(17, 2)
    except ValueError:
        return None
    nano = 0
    if second == 60:  # a leap second
        second, nano = 59, 1_000_000_000
    rest = b[19:]
    if rest[:1] == b".":
        rest = rest[1:]
        n = 0
        while n < len(rest) and 0x30 <= rest[n] <= 0x39:
            n += 1
        if n == 0:
            return None
        nano += int(rest[: min(n, 9)]) * 10 ** (9 - min(n, 9))
        rest = rest[n:]
    if hour >= 24 or minute >= 60 or second >= 60:
        return None
    if nano >= 2_000_000_000 or (nano >= 1_000_000_000 and second != 59):
        return None
    if rest[:1] in (b"Z", b"z"):
        offset = 0
        rest = rest[1:]
    else:
        if rest[:1] == b"+":
            sign, rest = 1, rest[1:]
        elif rest[:1] == b"-":
            sign, rest = -1, rest[1:]
        elif rest[:3] == "\u2212".encode("utf-8"):
            sign, rest = -1, rest[3:]
        else:
            return None
        if len(rest) < 2 or not all(0x30 <= c <= 0x39 for c in rest[:2]):
            return None
        off_hours = int(rest[:2])
        if rest[2:3] != b":":
            return None
        rest = rest[3:]
        if len(rest) < 2 or not (0x30 <= rest[0] <= 0x35 and 0x30 <= rest[1] <= 0x39):
            return None
        off_minutes = int(rest[:2])
        rest = rest[2:]
        offset = sign * (off_hours * 3600 + off_minutes * 60)
        if not -86400 < offset < 86400:
            return None
    if rest:
        return None
    total = (
        _days_from_civil(year, month, day) * 86400
        + hour * 3600
        + minute * 60
        + second
        - offset
    )
    days, secs = divmod(total, 86400)
    y, m, d = _civil_from_days(days)
    hh, mm, ss = secs // 3600, secs // 60 % 60, secs % 60
    if nano >= 1_000_000_000:
        ss += 1
        nano -= 1_000_000_000
    year_text = f"{y:04d}" if 0 <= y <= 9999 else f"{y:+05d}"
    return f"{year_text}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}.{nano // 1000:06d}Z"


def content_hash(entry):
    """An entry's content hash; None when its timestamp is not RFC 3339.
    NonInteger for a non-integer number."""
    body = {k: v for k, v in entry.items() if k != "hash" and v is not None}
    stamp = body.get("timestamp")
    if isinstance(stamp, str):
        canonical = canonical_timestamp(stamp)
        if canonical is None:
            return None
        body["timestamp"] = canonical
    return jcs_digest(body)


def checkpoint_hash(checkpoint):
    """Hash of a checkpoint's body (all but `hash` and `signature`)."""
    body = checkpoint
    if isinstance(checkpoint, dict):
        body = {k: v for k, v in checkpoint.items() if k not in ("hash", "signature")}
        sealed = body.get("sealedAt")
        if isinstance(sealed, str):
            canonical = canonical_timestamp(sealed)
            if canonical is not None:
                body["sealedAt"] = canonical
    return jcs_digest(body)


def prev_of(prev_hashes, entity_id):
    """The previous hash an entry records for `entity_id`, if it audits it."""
    for p in prev_hashes:
        if p.startswith(entity_id) and p[len(entity_id) : len(entity_id) + 1] == "=":
            return p[len(entity_id) + 1 :]
    return None


def _hex32(text):
    if not isinstance(text, str) or len(text) != 64 or not _HEX.match(text):
        return None
    return bytes.fromhex(text)


def verify_inclusion(root, size, leaf, index, path):
    """RFC 9162 section 2.1.3.2: is `leaf` (an entry's hash text) the leaf at `index`
    of the tree of `size` leaves whose root is `root` (hex), by audit path `path`?"""
    root_bytes = _hex32(root)
    if root_bytes is None:
        return False
    steps = [_hex32(p) for p in path]
    if any(s is None for s in steps):
        return False
    if index >= size:
        return False
    fn, sn = index, size - 1
    r = hashlib.sha256(b"\x00" + leaf.encode("utf-8")).digest()
    for p in steps:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_bytes


# ---------------------------------------------------------------------------
# Keys and signatures
# ---------------------------------------------------------------------------


class KeyProblem(Exception):
    """The public key cannot be used."""


class PublicKey:
    """An Ed25519 public key and the id govtrail gives it."""

    def __init__(self, raw):
        self.raw = raw
        self.key = Ed25519PublicKey.from_public_bytes(raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    def verify(self, signature, message):
        """Ed25519 verification (the signature's scalar must be below the group
        order, as ed25519-dalek requires)."""
        if len(signature) != 64 or int.from_bytes(signature[32:], "little") >= _L:
            return False
        try:
            self.key.verify(signature, message)
        except InvalidSignature:
            return False
        except Exception:  # noqa: BLE001 - any failure means "does not verify"
            return False
        return True


def _decompresses(raw):
    """Whether 32 bytes encode a point of the Ed25519 curve (as ed25519-dalek
    decompresses it: the y coordinate taken modulo p, x recovered from it)."""
    y = (int.from_bytes(raw, "little") & (2**255 - 1)) % _P
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    if u == 0:
        return True
    x2 = u * pow(v, _P - 2, _P) % _P
    return pow(x2, (_P - 1) // 2, _P) == 1


def b64decode_strict(text):
    """Standard base64 with canonical padding and no stray bits; None otherwise."""
    if not isinstance(text, str):
        return None
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return None
    if base64.b64encode(raw).decode("ascii") != text:
        return None
    return raw


def read_public_key(text):
    """A public key: PEM (SubjectPublicKeyInfo) or the base64 of the 32 raw bytes."""
    text = text.strip(_RUST_WHITESPACE)
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode("utf-8", "replace"))
        except Exception:  # noqa: BLE001 - any parse failure is reported
            raise KeyProblem(
                "not an Ed25519 public key in PEM form: the PEM text is not a readable "
                "SubjectPublicKeyInfo"
            ) from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyProblem(
                "not an Ed25519 public key in PEM form: the key's algorithm is not "
                f"Ed25519 ({type(key).__name__.lstrip('_')})"
            )
        raw = key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        if not _decompresses(raw):
            raise KeyProblem(
                "not an Ed25519 public key in PEM form: the key is not a point of the curve"
            )
        return PublicKey(raw)
    raw = b64decode_strict(text)
    if raw is None:
        raise KeyProblem("neither PEM nor base64")
    if len(raw) != 32:
        raise KeyProblem("a raw Ed25519 public key has 32 bytes")
    if not _decompresses(raw):
        raise KeyProblem(
            "not an Ed25519 public key: signature error: Cannot decompress Edwards point"
        )
    try:
        return PublicKey(raw)
    except Exception as e:  # noqa: BLE001
        raise KeyProblem(f"not an Ed25519 public key: {e}") from None


def pae(payload_type, payload):
    """DSSE pre-authentication encoding."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d " % (len(kind), kind, len(payload)) + payload


class SignatureProblem(Exception):
    """Why an envelope's signature does not hold (the sentences of dsse.rs)."""


def dsse_verify(envelope, key):
    """The payload bytes and the key id the first verifying signature names, if one
    signature verifies under `key` (whatever key id it names)."""
    payload = b64decode_strict(envelope["payload"])
    if payload is None:
        raise SignatureProblem("the envelope's payload is not valid base64")
    signatures = envelope["signatures"]
    if not signatures:
        raise SignatureProblem("the envelope carries no signature")
    message = pae(envelope["payloadType"], payload)
    for s in signatures:
        sig = b64decode_strict(s["sig"])
        if sig is not None and key.verify(sig, message):
            return payload, s["keyid"]
    if any(s["keyid"] == key.key_id for s in signatures):
        raise SignatureProblem(
            f"the signature by key {key.key_id} does not verify under the given public "
            "key: the payload or the signature was changed after signing"
        )
    found = ", ".join(s["keyid"] for s in signatures)
    raise SignatureProblem(
        f"no signature verifies under the given public key (key id {key.key_id}); the "
        f"envelope is signed by key {found}: a different key signed it, or the payload "
        "was changed after signing"
    )


# ---------------------------------------------------------------------------
# The verifier
# ---------------------------------------------------------------------------


class Verdict:
    """The outcome of verifying one packet."""

    def __init__(self):
        self.valid = False
        self.subject = None
        self.entries = 0
        self.sealed = 0
        self.checkpoints = 0
        self.problems = []
        self.warnings = []

    def problem(self, text):
        self.problems.append(text)

    def as_json(self):
        return {
            "valid": self.valid,
            "subject": self.subject,
            "entries": self.entries,
            "sealed": self.sealed,
            "checkpoints": self.checkpoints,
            "problems": self.problems,
            "warnings": self.warnings,
        }


def _entry_id(entry, position):
    value = entry.get("id")
    return value if isinstance(value, str) else f"#{position + 1}"


def _strings(value):
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str)]


def _as_i64(value):
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


def _as_u64(value):
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64:
        return value
    return None


def _field(value, name):
    """serde_json's `value[name]`: the field of an object, else null."""
    return value.get(name) if isinstance(value, dict) else None


def verify_packet(data, key):
    """Verifies a packet (the envelope's JSON bytes) against `key`."""
    verdict = Verdict()
    try:
        _verify_packet(data, key, verdict)
    except Exception as e:  # noqa: BLE001 - never a traceback for an auditor
        verdict.problem(f"the packet could not be verified: {type(e).__name__}: {e}")
        verdict.valid = False
    return verdict


def _verify_packet(data, key, verdict):
    try:
        envelope = ENVELOPE(parse_json(data), "", 0)
    except Malformed as e:
        verdict.problem(
            f"the file is not a DSSE envelope ({e}): it was damaged or is not a "
            "govtrail packet"
        )
        return
    if envelope["payloadType"] != IN_TOTO_PAYLOAD_TYPE:
        verdict.problem(
            f"the envelope's payload type is `{envelope['payloadType']}`, not "
            f"`{IN_TOTO_PAYLOAD_TYPE}`"
        )
    try:
        payload, signed_by = dsse_verify(envelope, key)
    except SignatureProblem as e:
        verdict.problem(str(e))
        # Go on reading the payload to say what was changed.
        payload, signed_by = b64decode_strict(envelope["payload"]), None
        if payload is None:
            return
    try:
        statement = STATEMENT(parse_json(payload), "", 0)
    except Malformed as e:
        verdict.problem(f"the payload is not a govtrail lineage packet: {e}")
        return
    signer = statement["predicate"]["signerKeyId"]
    if signed_by is not None and signed_by != signer:
        # DSSE does not sign key ids; the packet names its signer's inside the payload.
        verdict.problem(
            f"the envelope names key {signed_by} for its signature, but the signed packet "
            f"says it was signed with key {signer}: the envelope was altered"
        )
    _check_statement(statement, key, verdict)
    verdict.valid = not verdict.problems


def _check_statement(statement, key, verdict):
    packet = statement["predicate"]
    entity = packet["entity"]
    name = f"govtrail:{entity['type']}/{entity['id']}"
    verdict.subject = name
    verdict.entries = len(packet["history"])
    if statement["_type"] != STATEMENT_TYPE or statement["predicateType"] != PREDICATE_TYPE:
        verdict.problem(
            f"the payload is a `{statement['_type']}` statement of "
            f"`{statement['predicateType']}`, not a govtrail lineage packet"
        )
    try:
        digest = jcs_digest(entity["state"])
    except NonInteger:
        verdict.problem(
            f"the entity's state: {NON_INTEGER}, so it cannot be checked against its "
            f"digest {entity['stateDigest']}"
        )
    else:
        if digest != entity["stateDigest"]:
            verdict.problem(
                f"the entity's state does not match its digest {entity['stateDigest']}: "
                "the state was changed"
            )
    subjects = statement["subject"]
    subject_ok = (
        len(subjects) == 1
        and subjects[0]["name"] == name
        and subjects[0]["digest"].get("sha256") == entity["stateDigest"]
    )
    if not subject_ok:
        verdict.problem(
            f"the statement's subject does not name {name} with its state digest"
        )
    hashes = _check_entries(packet, verdict)
    _check_chain(packet, verdict)
    _check_seals(packet, hashes, key, verdict)


def _check_entries(packet, verdict):
    """Recomputes every entry's hash; returns the recomputed hash per position."""
    entity_id = packet["entity"]["id"]
    seen = set()
    hashes = []
    for i, item in enumerate(packet["history"]):
        entry = item["entry"]
        entry_id = _entry_id(entry, i)
        if entry_id in seen:
            verdict.problem(f"entry {entry_id} appears twice")
        seen.add(entry_id)
        stated = entry.get("hash")
        try:
            computed = content_hash(entry)
        except NonInteger:
            computed = ""
            verdict.problem(f"entry {entry_id}: {NON_INTEGER}, so its hash cannot be recomputed")
        else:
            if computed is None:
                computed = ""
                verdict.problem(
                    f"entry {entry_id}: its timestamp is not RFC 3339, so its hash cannot be "
                    "recomputed: the entry was modified"
                )
            elif not isinstance(stated, str) or stated != computed:
                verdict.problem(
                    f"entry {entry_id}: its content does not match its hash: the entry "
                    "was modified"
                )
        audits_entity = entry.get("entityId") == entity_id or (
            prev_of(_strings(entry.get("prevHashes")), entity_id) is not None
        )
        if not audits_entity:
            verdict.problem(f"entry {entry_id} is not about entity {entity_id}")
        hashes.append(computed)
    return hashes


def _check_chain(packet, verdict):
    """Walks the entity's chain in packet order, from GENESIS to the entity's head."""
    entity_id = packet["entity"]["id"]
    history = packet["history"]
    stated = []
    for item in history:
        value = item["entry"].get("hash")
        stated.append(value if isinstance(value, str) else "")
    position = {}
    for i, h in enumerate(stated):
        position[h] = i
    expected = GENESIS
    for i, item in enumerate(history):
        entry_id = _entry_id(item["entry"], i)
        prev = prev_of(_strings(item["entry"].get("prevHashes")), entity_id)
        if prev is None:
            verdict.problem(
                f"entry {entry_id} is not on the chain of entity {entity_id} (its "
                "prevHashes do not name it)"
            )
            continue
        if prev != expected:
            if i == 0:
                before = "the start of the chain"
            else:
                before = f"entry {_entry_id(history[i - 1]['entry'], i - 1)}"
            j = position.get(prev)
            if j is not None and j > i:
                text = (
                    f"entries are out of order: entry {entry_id} follows {before} but "
                    f"chains to entry {_entry_id(history[j]['entry'], j)}, which comes "
                    "after it"
                )
            elif j is not None:
                text = (
                    f"entries are out of order: entry {entry_id} follows {before} but "
                    f"chains to entry {_entry_id(history[j]['entry'], j)}"
                )
            elif prev == GENESIS:
                text = (
                    f"entry {entry_id} starts the chain (GENESIS) but follows {before}: "
                    "entries are out of order"
                )
            else:
                text = (
                    f"an entry is missing before entry {entry_id}: it chains to an entry "
                    f"with hash {prev} that is not in the packet"
                )
            verdict.problem(text)
        expected = stated[i]
    head = packet["entity"]["auditHead"]
    if head is not None and history and head != expected:
        if head in position:
            verdict.problem(
                f"entries are out of order: the entity's newest entry (hash {head}) is "
                "not last"
            )
        else:
            verdict.problem(
                "entries are missing at the end: the entity's newest entry has hash "
                f"{head}, which is not in the packet"
            )
    elif head is None and history:
        verdict.problem(
            f"entity {entity_id} names no chain head but the packet holds entries"
        )
    elif head is not None and not history:
        verdict.problem(
            f"the packet holds no entries but the entity's newest entry has hash {head}: "
            "every entry is missing"
        )


def _check_seals(packet, hashes, key, verdict):
    """Checks checkpoints (hash, signature, count) and every entry's inclusion proof."""
    checkpoints = {}
    for c in packet["checkpoints"]:
        seq = _as_i64(_field(c, "seq"))
        if seq is None:
            verdict.problem("a checkpoint has no integer seq: the checkpoint was modified")
            continue
        if seq in checkpoints:
            verdict.problem(f"checkpoint {seq} appears twice")
            continue
        stated = _field(c, "hash")
        stated = stated if isinstance(stated, str) else ""
        ids = _strings(_field(c, "entryIds"))
        ok = True
        try:
            computed = checkpoint_hash(c)
        except NonInteger:
            verdict.problem(f"checkpoint {seq}: {NON_INTEGER}, so its hash cannot be recomputed")
            ok = False
        else:
            if computed != stated:
                verdict.problem(
                    f"checkpoint {seq}: its content does not match its hash: the "
                    "checkpoint was modified"
                )
                ok = False
        signature = _field(c, "signature")
        signature = b64decode_strict(signature if isinstance(signature, str) else "")
        if signature is None or not key.verify(signature, stated.encode("utf-8")):
            verdict.problem(
                f"checkpoint {seq}: its signature does not verify under the given public key"
            )
            ok = False
        if _as_u64(_field(c, "count")) != len(ids):
            verdict.problem(
                f"checkpoint {seq}: its count does not match the entries it lists"
            )
            ok = False
        if ok:
            verdict.checkpoints += 1
        checkpoints[seq] = (c, ids)
    unsealed = []
    for i, item in enumerate(packet["history"]):
        entry_id = _entry_id(item["entry"], i)
        proof = item["proof"]
        if proof is None:
            unsealed.append(entry_id)
            continue
        sealing = checkpoints.get(proof["checkpoint"])
        if sealing is None:
            verdict.problem(
                f"entry {entry_id}: its proof refers to checkpoint {proof['checkpoint']}, "
                "which is not in the packet"
            )
            continue
        checkpoint, ids = sealing
        leaf = proof["leafIndex"]
        listed = leaf < len(ids) and ids[leaf] == entry_id
        if not listed or proof["treeSize"] != len(ids):
            verdict.problem(
                f"entry {entry_id}: checkpoint {proof['checkpoint']} does not list it at "
                f"leaf {leaf}"
            )
            continue
        root = _field(checkpoint, "root")
        root = root if isinstance(root, str) else ""
        if verify_inclusion(root, proof["treeSize"], hashes[i], leaf, proof["auditPath"]):
            verdict.sealed += 1
        else:
            verdict.problem(
                f"entry {entry_id}: it is not in the Merkle root of checkpoint "
                f"{proof['checkpoint']} (its content or proof was changed)"
            )
    if unsealed:
        one = len(unsealed) == 1
        verdict.warnings.append(
            f"{len(unsealed)} entr{'y was' if one else 'ies were'} not yet sealed by a "
            f"signed checkpoint when exported ({', '.join(unsealed)}): the envelope "
            f"signature and the hash chain cover {'it' if one else 'them'}"
        )


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def _read(path):
    """The bytes of a file, or the reason it cannot be read (worded as Rust does)."""
    try:
        with open(path, "rb") as f:
            return f.read(), None
    except OSError as e:
        reason = f"{e.strerror} (os error {e.errno})" if e.errno else str(e)
        return None, f"cannot read {path}: {reason}"
    except Exception as e:  # noqa: BLE001
        return None, f"cannot read {path}: {e}"


def render(verdict, key, as_json):
    if as_json:
        return json.dumps(verdict.as_json(), indent=2, ensure_ascii=False)
    lines = [
        f"{'VALID' if verdict.valid else 'INVALID'} "
        f"{verdict.subject if verdict.subject is not None else '(unreadable packet)'}",
        f"  {verdict.entries} entries, {verdict.sealed} with inclusion proofs verified "
        f"against {verdict.checkpoints} signed checkpoints (key {key.key_id})",
    ]
    lines += [f"  problem: {p}" for p in verdict.problems]
    lines += [f"  warning: {w}" for w in verdict.warnings]
    return "\n".join(lines)


def _write(stream, text):
    data = (text + "\n").encode("utf-8", "backslashreplace")
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()
        buffer.write(data)
        buffer.flush()
    else:
        stream.write(data.decode("utf-8"))
        stream.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Verify a govtrail lineage packet offline (see the module docstring).",
    )
    parser.add_argument("packet", metavar="PACKET", help="the exported packet (DSSE envelope)")
    parser.add_argument(
        "--public-key",
        metavar="KEY",
        required=True,
        help="the govtrail public key: PEM, or base64 of the 32 raw bytes",
    )
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
    args = parser.parse_args(argv)

    key_bytes, key_error = _read(args.public_key)
    key = None
    if key_error is None:
        try:
            key = read_public_key(key_bytes.decode("utf-8", "replace"))
        except KeyProblem as e:
            key_error = f"{args.public_key}: {e}"
    data, packet_error = _read(args.packet)
    error = packet_error or key_error
    if error is not None:
        _write(sys.stderr, f"{PROG}: {error}")
        return 2
    verdict = verify_packet(data, key)
    _write(sys.stdout, render(verdict, key, args.json).rstrip(_RUST_WHITESPACE))
    return 0 if verdict.valid else 1


if __name__ == "__main__":
    sys.exit(main())
