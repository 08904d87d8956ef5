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
3. the payload is an in-toto Statement holding a govtrail lineage packet, its
   `exportedAt` is a canonical timestamp (below), and its subject names the entity
   (`govtrail:<Type>/<id>`) with the SHA-256 of the RFC 8785 form of the entity's
   state, which must match the state's stated digest;
4. every history entry's `hash` is the SHA-256 (hex) of the RFC 8785 form of the entry
   without `hash` and without null-valued fields, its `timestamp` exactly as written,
   which must be a canonical timestamp (an entry whose timestamp is not cannot have
   its hash recomputed); no entry appears twice; every entry audits the entity;
5. the entries form the entity's hash chain in packet order: the first entry's
   `prevHashes` holds "<entity id>=GENESIS", each next one "<entity id>=<hash of the
   one before>", and the last one is the entity's `auditHead`;
6. every checkpoint's `sealedAt` is a canonical timestamp, its hash (SHA-256 of the
   RFC 8785 form of the checkpoint without `hash` and `signature`, every other field
   -- `sealedAt`, `entryIds`, `entryHashes`, `entryEntities`, ... -- as written), its
   Ed25519 signature (over the ASCII hex text of that hash), its count, and, when it
   lists `entryHashes` and `entryEntities`, one of each per entry and a root that is
   the Merkle root of those hashes; only a checkpoint passing all five counts as a
   verified checkpoint, and only proofs against one count as sealed;
7. every sealed entry's RFC 9162 (RFC 6962) Merkle inclusion proof: the checkpoint it
   names must list the entry at the proof's leaf index, the proof's tree size must be
   the number of entries the checkpoint lists, and the audit path must lead from the
   leaf to the checkpoint's root (leaf = the entry's hex hash text, leaf hash =
   SHA-256(0x00 || leaf), node = SHA-256(0x01 || left || right)); an entry without a
   proof that a checkpoint in the packet lists is a problem (its proof was removed);
   entries not sealed yet are reported as a warning.

A canonical timestamp has exactly one text form, `YYYY-MM-DDTHH:MM:SS.ffffffZ`: 27
characters, exactly six fractional digits, upper-case `T` and `Z`, and a real date and
time (as chrono reads RFC 3339). No other spelling of the same instant (fewer or more
digits, lower case, an offset) is accepted or rewritten, so no two texts share a hash.

RFC 8785 (JCS) numbers are written as ECMAScript writes the IEEE double nearest to
them (integers exactly below 2^53), as govtrail (serde_jcs) does; objects have their
keys sorted by UTF-16 code units, strings are escaped as JSON.stringify does, and there
is no whitespace.

The JSON is read as govtrail reads it (serde_json into serde-derived structs), in the
same order and with the same first error: invalid UTF-8, unpaired surrogate escapes,
numbers beyond the double range and nesting of 128 levels or more are errors; an
part of the format with an unknown field is refused (nothing rides in a packet that
no check reads), as is a duplicated field of the fixed parts of the format. When the file or its payload cannot be read, the detail (after "the file is
not a DSSE envelope" or "the payload is not a govtrail lineage packet:") is
serde_json's sentence, at serde_json's line and column (columns count bytes).

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
import unicodedata
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

# Ed25519: field prime, curve constant d, group order.
_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_L = 2**252 + 27742317777372353535851937790883648493

_HEX = re.compile(r"[0-9a-fA-F]*\Z")
# What Rust's str::trim removes (Unicode White_Space).
_RUST_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


# ---------------------------------------------------------------------------
# Reading JSON as serde_json does
# ---------------------------------------------------------------------------
#
# govtrail reads the envelope and the Statement with serde_json (`from_slice`) into
# serde-derived structs. So that a damaged or reshaped packet gets the same sentence
# from both verifiers, this reader follows serde_json's deserializer step by step: it
# reads the bytes in the same order, into the same types, stops at the same first
# error and reports it in serde_json's words and at serde_json's line and column
# (columns count bytes; an error without a position of its own takes the position the
# reader has reached when serde_json would give it one).

# serde_json's error sentences.
EOF_LIST = "EOF while parsing a list"
EOF_OBJECT = "EOF while parsing an object"
EOF_STRING = "EOF while parsing a string"
EOF_VALUE = "EOF while parsing a value"
EXPECTED_COLON = "expected `:`"
EXPECTED_LIST_COMMA_OR_END = "expected `,` or `]`"
EXPECTED_OBJECT_COMMA_OR_END = "expected `,` or `}`"
EXPECTED_IDENT = "expected ident"
EXPECTED_VALUE = "expected value"
INVALID_ESCAPE = "invalid escape"
INVALID_NUMBER = "invalid number"
NUMBER_OUT_OF_RANGE = "number out of range"
INVALID_UNICODE = "invalid unicode code point"
CONTROL_CHARACTER = "control character (\\u0000-\\u001F) found while parsing a string"
KEY_MUST_BE_A_STRING = "key must be a string"
LONE_LEADING_SURROGATE = "lone leading surrogate in hex escape"
TRAILING_COMMA = "trailing comma"
TRAILING_CHARACTERS = "trailing characters"
UNEXPECTED_END_OF_HEX_ESCAPE = "unexpected end of hex escape"
RECURSION_LIMIT = "recursion limit exceeded"

# serde_json refuses to nest containers this deep (it counts down from 128 and fails
# on reaching 0).
MAX_DEPTH = 128

# serde_json's private map key that makes a `Value` read a RawValue (feature
# `raw_value`, which govtrail's dependencies enable).
RAW_VALUE_TOKEN = "$serde_json::private::RawValue"

_U64_MAX = 2**64 - 1
_I32_MAX = 2**31 - 1

_WHITESPACE = b" \n\t\r"
_STRING_STOP = re.compile(b'["\\\\\x00-\x1f]')
_SIMPLE_ESCAPES = {
    0x22: b'"',
    0x5C: b"\\",
    0x2F: b"/",
    0x62: b"\x08",
    0x66: b"\x0c",
    0x6E: b"\n",
    0x72: b"\r",
    0x74: b"\t",
}
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


class JsonError(Exception):
    """A serde_json error: its sentence and position (line 0: none yet)."""

    def __init__(self, message, line=0, column=0):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self):
        if self.line == 0:
            return self.message
        return f"{self.message} at line {self.line} column {self.column}"


class JNumber:
    """A number serde_json reads as a double (a fraction, an exponent, -0, or an
    integer outside [-2^63, 2^64 - 1]); `value` is that double."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return _zmij(self.value)


def _zmij(f):
    """A double as serde_json writes one in an error message (the zmij crate)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    if f == 0:
        return sign + "0.0"
    digits, point = _shortest_digits(abs(f))
    exp = point - 1
    n = len(digits)
    if -5 <= exp <= 15:
        if n - 1 <= exp:
            text = digits + "0" * (exp - n + 1) + ".0"
        elif exp >= 0:
            text = digits[: exp + 1] + "." + digits[exp + 1 :]
        else:
            text = "0." + "0" * (-exp - 1) + digits
    else:
        text = digits[0] + ("." + digits[1:] if n > 1 else "")
        text += f"e{'+' if exp >= 0 else '-'}{abs(exp)}"
    return sign + text


def _shortest_digits(f):
    """The shortest decimal digits that read back as the positive double `f`, and
    the position of the decimal point relative to them (value = 0.DIGITS * 10^point)."""
    sign, digits, exponent = Decimal(repr(f)).as_tuple()
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exponent += 1
    text = "".join(map(str, digits))
    return text, exponent + len(text)


def _rust_debug_str(s):
    """A string as Rust's `{:?}` writes it (serde's `string "..."`), as near as the
    Unicode tables of this Python allow."""
    out = ['"']
    for c in s:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif c == "\n":
            out.append("\\n")
        elif c == "\0":
            out.append("\\0")
        elif " " <= c <= "~":
            out.append(c)
        else:
            category = unicodedata.category(c)
            if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs", "Mn", "Me"):
                out.append(f"\\u{{{ord(c):x}}}")
            else:
                out.append(c)
    out.append('"')
    return "".join(out)


class Reader:
    """serde_json's `Deserializer<SliceRead>` over `data`."""

    __slots__ = ("data", "index", "depth")

    def __init__(self, data):
        self.data = data
        self.index = 0
        self.depth = MAX_DEPTH

    # Positions and errors ------------------------------------------------

    def _position(self, i):
        start_of_line = self.data.rfind(b"\n", 0, i) + 1
        return 1 + self.data.count(b"\n", 0, start_of_line), i - start_of_line

    def error(self, message):
        """An error caused by the byte just read."""
        return JsonError(message, *self._position(self.index))

    def peek_error(self, message):
        """An error caused by the byte about to be read."""
        return JsonError(message, *self._position(min(len(self.data), self.index + 1)))

    def fix(self, err):
        """Gives a position to an error that has none (serde_json's fix_position)."""
        if err.line == 0:
            return JsonError(err.message, *self._position(self.index))
        return err

    # Bytes ----------------------------------------------------------------

    def peek(self):
        return self.data[self.index] if self.index < len(self.data) else None

    def peek_or_null(self):
        return self.data[self.index] if self.index < len(self.data) else 0

    def next(self):
        if self.index < len(self.data):
            self.index += 1
            return self.data[self.index - 1]
        return None

    def whitespace(self):
        """Skips whitespace; the next byte, not consumed (None at the end)."""
        data, i, n = self.data, self.index, len(self.data)
        while i < n and data[i] in _WHITESPACE:
            i += 1
        self.index = i
        return data[i] if i < n else None

    def ident(self, rest):
        for expected in rest:
            got = self.next()
            if got is None:
                raise self.error(EOF_VALUE)
            if got != expected:
                raise self.error(EXPECTED_IDENT)

    def end(self):
        """After the top-level value: nothing but whitespace may follow."""
        if self.whitespace() is not None:
            raise self.peek_error(TRAILING_CHARACTERS)

    # Numbers --------------------------------------------------------------

    def number(self, positive):
        """A number whose sign (if any) has been read: ("u", int), ("i", int) or
        ("f", float), as serde_json's ParserNumber."""
        start = self.index if positive else self.index - 1
        first = self.next()
        if first is None:
            raise self.error(EOF_VALUE)
        if first == 0x30:
            if 0x30 <= self.peek_or_null() <= 0x39:
                raise self.peek_error(INVALID_NUMBER)
            significand = 0
        elif 0x31 <= first <= 0x39:
            significand = first - 0x30
            while 0x30 <= self.peek_or_null() <= 0x39:
                if significand <= _U64_MAX:
                    significand = significand * 10 + self.data[self.index] - 0x30
                self.index += 1
        else:
            raise self.error(INVALID_NUMBER)
        # Beyond u64, serde_json reads the integer as a double.
        is_float = significand > _U64_MAX
        nonzero = significand != 0
        if self.peek_or_null() == 0x2E:
            is_float = True
            self.index += 1
            digits = 0
            while 0x30 <= self.peek_or_null() <= 0x39:
                nonzero = nonzero or self.data[self.index] != 0x30
                self.index += 1
                digits += 1
            if digits == 0:
                if self.peek() is not None:
                    raise self.peek_error(INVALID_NUMBER)
                raise self.peek_error(EOF_VALUE)
        if self.peek_or_null() in (0x65, 0x45):
            is_float = True
            self.index += 1
            positive_exp = True
            if self.peek_or_null() in (0x2B, 0x2D):
                positive_exp = self.data[self.index] == 0x2B
                self.index += 1
            c = self.next()
            if c is None:
                raise self.error(EOF_VALUE)
            if not 0x30 <= c <= 0x39:
                raise self.error(INVALID_NUMBER)
            exp = c - 0x30
            while 0x30 <= self.peek_or_null() <= 0x39:
                self.index += 1
                exp = exp * 10 + self.data[self.index - 1] - 0x30
                if exp > _I32_MAX:
                    if nonzero and positive_exp:
                        raise self.error(NUMBER_OUT_OF_RANGE)
                    while 0x30 <= self.peek_or_null() <= 0x39:
                        self.index += 1
                    return "f", 0.0 if positive else -0.0
        if not is_float:
            if positive:
                return "u", significand
            if 1 <= significand <= 2**63:
                return "i", -significand
            return "f", -float(significand)
        value = float(self.data[start : self.index].decode("ascii"))
        if math.isinf(value):
            raise self.error(NUMBER_OUT_OF_RANGE)
        return "f", value

    # Strings --------------------------------------------------------------

    def string(self):
        """A string whose opening quote has been read (serde_json's parse_str)."""
        data, n = self.data, len(self.data)
        start = self.index
        scratch = None
        while True:
            stop = _STRING_STOP.search(data, self.index)
            if stop is None:
                self.index = n
                raise self.error(EOF_STRING)
            i = stop.start()
            b = data[i]
            if b == 0x22:
                if scratch is None:
                    raw = data[start:i]
                else:
                    scratch += data[start:i]
                    raw = bytes(scratch)
                self.index = i + 1
                try:
                    return raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    line, column = self._position(self.index)
                    raise JsonError(
                        INVALID_UNICODE, line, max(0, column - (len(raw) - e.start))
                    ) from None
            if b == 0x5C:
                if scratch is None:
                    scratch = bytearray()
                scratch += data[start:i]
                self.index = i + 1
                self._escape(scratch)
                start = self.index
            else:
                self.index = i + 1
                raise self.error(CONTROL_CHARACTER)

    def _escape(self, scratch):
        c = self.next()
        if c is None:
            raise self.error(EOF_STRING)
        simple = _SIMPLE_ESCAPES.get(c)
        if simple is not None:
            scratch += simple
            return
        if c != 0x75:
            raise self.error(INVALID_ESCAPE)
        n1 = self._hex_escape()
        if 0xDC00 <= n1 <= 0xDFFF:
            raise self.error(LONE_LEADING_SURROGATE)
        if not 0xD800 <= n1 <= 0xDBFF:
            scratch += chr(n1).encode("utf-8")
            return
        for expected in (0x5C, 0x75):
            if self.index >= len(self.data):
                raise self.error(EOF_STRING)
            got = self.data[self.index]
            self.index += 1
            if got != expected:
                raise self.error(UNEXPECTED_END_OF_HEX_ESCAPE)
        n2 = self._hex_escape()
        if not 0xDC00 <= n2 <= 0xDFFF:
            raise self.error(LONE_LEADING_SURROGATE)
        scratch += chr((((n1 - 0xD800) << 10) | (n2 - 0xDC00)) + 0x10000).encode("utf-8")

    def _hex_escape(self):
        digits = self.data[self.index : self.index + 4]
        if len(digits) < 4:
            self.index = len(self.data)
            raise self.error(EOF_STRING)
        self.index += 4
        if not all(d in _HEX_DIGITS for d in digits):
            raise self.error(INVALID_ESCAPE)
        return int(digits, 16)

    def skip_string(self):
        """Skips a string whose opening quote has been read (serde_json's ignore_str:
        neither UTF-8 nor surrogates are checked)."""
        data, n = self.data, len(self.data)
        while True:
            stop = _STRING_STOP.search(data, self.index)
            if stop is None:
                self.index = n
                raise self.error(EOF_STRING)
            i = stop.start()
            b = data[i]
            if b == 0x22:
                self.index = i + 1
                return
            if b == 0x5C:
                self.index = i + 1
                c = self.next()
                if c is None:
                    raise self.error(EOF_STRING)
                if c == 0x75:
                    self._hex_escape()
                elif c not in _SIMPLE_ESCAPES:
                    raise self.error(INVALID_ESCAPE)
            else:
                self.index = i
                raise self.error(CONTROL_CHARACTER)

    # Skipping a value (serde's IgnoredAny) --------------------------------

    def _skip_number(self):
        c = self.next() or 0
        if c == 0x30:
            if 0x30 <= self.peek_or_null() <= 0x39:
                raise self.peek_error(INVALID_NUMBER)
        elif 0x31 <= c <= 0x39:
            while 0x30 <= self.peek_or_null() <= 0x39:
                self.index += 1
        else:
            raise self.error(INVALID_NUMBER)
        if self.peek_or_null() == 0x2E:
            self.index += 1
            if not 0x30 <= self.peek_or_null() <= 0x39:
                raise self.peek_error(INVALID_NUMBER)
            while 0x30 <= self.peek_or_null() <= 0x39:
                self.index += 1
        if self.peek_or_null() in (0x65, 0x45):
            self.index += 1
            if self.peek_or_null() in (0x2B, 0x2D):
                self.index += 1
            if not 0x30 <= (self.next() or 0) <= 0x39:
                raise self.error(INVALID_NUMBER)
            while 0x30 <= self.peek_or_null() <= 0x39:
                self.index += 1

    def skip(self):
        """Skips one value as serde_json's ignore_value does (no depth limit)."""
        stack = []
        enclosing = None
        while True:
            b = self.whitespace()
            if b is None:
                raise self.peek_error(EOF_VALUE)
            frame = None
            if b == 0x6E:
                self.index += 1
                self.ident(b"ull")
            elif b == 0x74:
                self.index += 1
                self.ident(b"rue")
            elif b == 0x66:
                self.index += 1
                self.ident(b"alse")
            elif b == 0x2D:
                self.index += 1
                self._skip_number()
            elif 0x30 <= b <= 0x39:
                self._skip_number()
            elif b == 0x22:
                self.index += 1
                self.skip_string()
            elif b in (0x5B, 0x7B):
                if enclosing is not None:
                    stack.append(enclosing)
                    enclosing = None
                self.index += 1
                frame = b
            else:
                raise self.peek_error(EXPECTED_VALUE)
            if frame is not None:
                accept_comma = False
            elif enclosing is not None:
                frame, enclosing, accept_comma = enclosing, None, True
            elif stack:
                frame, accept_comma = stack.pop(), True
            else:
                return
            while True:
                b = self.whitespace()
                if b == 0x2C and accept_comma:
                    self.index += 1
                    break
                if (b == 0x5D and frame == 0x5B) or (b == 0x7D and frame == 0x7B):
                    self.index += 1
                    if not stack:
                        return
                    frame, accept_comma = stack.pop(), True
                    continue
                if b is None:
                    raise self.peek_error(EOF_LIST if frame == 0x5B else EOF_OBJECT)
                if accept_comma:
                    raise self.peek_error(
                        EXPECTED_LIST_COMMA_OR_END
                        if frame == 0x5B
                        else EXPECTED_OBJECT_COMMA_OR_END
                    )
                break
            if frame == 0x7B:
                b = self.whitespace()
                if b == 0x22:
                    self.index += 1
                elif b is not None:
                    raise self.peek_error(KEY_MUST_BE_A_STRING)
                else:
                    raise self.peek_error(EOF_OBJECT)
                self.skip_string()
                b = self.whitespace()
                if b == 0x3A:
                    self.index += 1
                elif b is not None:
                    raise self.peek_error(EXPECTED_COLON)
                else:
                    raise self.peek_error(EOF_OBJECT)
            enclosing = frame

    # Containers -----------------------------------------------------------

    def container(self, visit, is_map):
        """`[`/`{` is next: reads the container with `visit`, then its end, as
        serde_json does (the end is read even when `visit` failed)."""
        self.depth -= 1
        if self.depth == 0:
            raise self.peek_error(RECURSION_LIMIT)
        self.index += 1
        err = None
        result = None
        try:
            result = visit(self, _Access())
        except JsonError as e:
            err = e
        self.depth += 1
        try:
            if is_map:
                self._end_map()
            else:
                self._end_seq()
        except JsonError as e:
            if err is None:
                err = e
        if err is not None:
            raise self.fix(err)
        return result

    def _end_seq(self):
        b = self.whitespace()
        if b == 0x5D:
            self.index += 1
        elif b == 0x2C:
            self.index += 1
            if self.whitespace() == 0x5D:
                raise self.peek_error(TRAILING_COMMA)
            raise self.peek_error(TRAILING_CHARACTERS)
        elif b is not None:
            raise self.peek_error(TRAILING_CHARACTERS)
        else:
            raise self.peek_error(EOF_LIST)

    def _end_map(self):
        b = self.whitespace()
        if b == 0x7D:
            self.index += 1
        elif b == 0x2C:
            raise self.peek_error(TRAILING_COMMA)
        elif b is not None:
            raise self.peek_error(TRAILING_CHARACTERS)
        else:
            raise self.peek_error(EOF_OBJECT)

    def next_element(self, access):
        """Whether the sequence has another element (serde_json's SeqAccess)."""
        b = self.whitespace()
        if b is None:
            raise self.peek_error(EOF_LIST)
        if b == 0x5D:
            return False
        if access.first:
            access.first = False
            return True
        if b == 0x2C:
            self.index += 1
            b = self.whitespace()
            if b == 0x5D:
                raise self.peek_error(TRAILING_COMMA)
            if b is None:
                raise self.peek_error(EOF_VALUE)
            return True
        raise self.peek_error(EXPECTED_LIST_COMMA_OR_END)

    def next_key(self, access):
        """The next key of a map, or None at its end (serde_json's MapAccess)."""
        b = self.whitespace()
        if b is None:
            raise self.peek_error(EOF_OBJECT)
        if b == 0x7D:
            return None
        if access.first:
            access.first = False
            if b != 0x22:
                raise self.peek_error(KEY_MUST_BE_A_STRING)
        elif b == 0x2C:
            self.index += 1
            b = self.whitespace()
            if b == 0x7D:
                raise self.peek_error(TRAILING_COMMA)
            if b is None:
                raise self.peek_error(EOF_VALUE)
            if b != 0x22:
                raise self.peek_error(KEY_MUST_BE_A_STRING)
        else:
            raise self.peek_error(EXPECTED_OBJECT_COMMA_OR_END)
        self.index += 1
        return self.string()

    def colon(self):
        b = self.whitespace()
        if b == 0x3A:
            self.index += 1
        elif b is not None:
            raise self.peek_error(EXPECTED_COLON)
        else:
            raise self.peek_error(EOF_OBJECT)

    def invalid_type(self, expected):
        """serde_json's peek_invalid_type: reads the value that is not `expected`."""
        b = self.peek_or_null()
        if b == 0x6E:
            self.index += 1
            self.ident(b"ull")
            unexpected = "null"
        elif b == 0x74:
            self.index += 1
            self.ident(b"rue")
            unexpected = "boolean `true`"
        elif b == 0x66:
            self.index += 1
            self.ident(b"alse")
            unexpected = "boolean `false`"
        elif b == 0x2D or 0x30 <= b <= 0x39:
            if b == 0x2D:
                self.index += 1
            unexpected = _unexpected_number(self.number(b != 0x2D))
        elif b == 0x22:
            self.index += 1
            unexpected = "string " + _rust_debug_str(self.string())
        elif b == 0x5B:
            unexpected = "sequence"
        elif b == 0x7B:
            unexpected = "map"
        else:
            return self.peek_error(EXPECTED_VALUE)
        return self.fix(JsonError(f"invalid type: {unexpected}, expected {expected}"))


class _Access:
    """Whether a SeqAccess/MapAccess is at its first element."""

    __slots__ = ("first",)

    def __init__(self):
        self.first = True


def _unexpected_number(number):
    kind, value = number
    if kind == "f":
        return f"floating point `{_zmij(value)}`"
    return f"integer `{value}`"


# Types, each read as serde reads it: `read(reader)` and `missing(name)` (what a struct
# field of this type is when absent).


class _Type:
    expecting = ""

    def missing(self, name):
        raise JsonError(f"missing field `{name}`")

    def begin(self, r):
        b = r.whitespace()
        if b is None:
            raise r.peek_error(EOF_VALUE)
        return b


class _Value(_Type):
    """serde_json::Value: strings and numbers strict, objects a map (last duplicate
    wins)."""

    def read(self, r):
        b = self.begin(r)
        try:
            if b == 0x6E:
                r.index += 1
                r.ident(b"ull")
                return None
            if b == 0x74:
                r.index += 1
                r.ident(b"rue")
                return True
            if b == 0x66:
                r.index += 1
                r.ident(b"alse")
                return False
            if b == 0x2D or 0x30 <= b <= 0x39:
                if b == 0x2D:
                    r.index += 1
                kind, value = r.number(b != 0x2D)
                return JNumber(value) if kind == "f" else value
            if b == 0x22:
                r.index += 1
                return r.string()
            if b == 0x5B:
                return r.container(self._array, False)
            if b == 0x7B:
                return r.container(self._object, True)
            raise r.peek_error(EXPECTED_VALUE)
        except JsonError as e:
            raise r.fix(e) from None

    def _array(self, r, access):
        out = []
        while r.next_element(access):
            out.append(self.read(r))
        return out

    def _object(self, r, access):
        key = r.next_key(access)
        if key is None:
            return {}
        if key == RAW_VALUE_TOKEN:
            r.colon()
            text = _RAW_VALUE_STRING.read(r)
            inner = Reader(text.encode("utf-8"))
            try:
                value = self.read(inner)
                inner.end()
            except JsonError as e:
                # serde_json re-reads the position from the message.
                raise JsonError(e.message, e.line, e.column) from None
            return value
        out = {}
        while key is not None:
            r.colon()
            out[key] = self.read(r)
            key = r.next_key(access)
        return out


class _String(_Type):
    expecting = "a string"

    def read(self, r):
        b = self.begin(r)
        try:
            if b == 0x22:
                r.index += 1
                return r.string()
            raise r.invalid_type(self.expecting)
        except JsonError as e:
            raise r.fix(e) from None


class _Bool(_Type):
    expecting = "a boolean"

    def read(self, r):
        b = self.begin(r)
        try:
            if b == 0x74:
                r.index += 1
                r.ident(b"rue")
                return True
            if b == 0x66:
                r.index += 1
                r.ident(b"alse")
                return False
            raise r.invalid_type(self.expecting)
        except JsonError as e:
            raise r.fix(e) from None


class _Integer(_Type):
    def __init__(self, name, low, high):
        self.expecting = name
        self.low = low
        self.high = high

    def read(self, r):
        b = self.begin(r)
        try:
            if b == 0x2D or 0x30 <= b <= 0x39:
                if b == 0x2D:
                    r.index += 1
                kind, value = r.number(b != 0x2D)
                if kind == "f":
                    raise JsonError(
                        f"invalid type: floating point `{_zmij(value)}`, expected "
                        f"{self.expecting}"
                    )
                if not self.low <= value <= self.high:
                    raise JsonError(
                        f"invalid value: integer `{value}`, expected {self.expecting}"
                    )
                return value
            raise r.invalid_type(self.expecting)
        except JsonError as e:
            raise r.fix(e) from None


class _Option(_Type):
    def __init__(self, inner):
        self.inner = inner

    def missing(self, name):
        return None

    def read(self, r):
        if r.whitespace() == 0x6E:
            r.index += 1
            r.ident(b"ull")
            return None
        return self.inner.read(r)


class _Default(_Type):
    """A field with #[serde(default)]: absent reads as `factory()`."""

    def __init__(self, inner, factory):
        self.inner = inner
        self.factory = factory

    def missing(self, name):
        return self.factory()

    def read(self, r):
        return self.inner.read(r)


class _Seq(_Type):
    expecting = "a sequence"

    def __init__(self, inner):
        self.inner = inner

    def read(self, r):
        b = self.begin(r)
        try:
            if b == 0x5B:
                return r.container(self._visit, False)
            raise r.invalid_type(self.expecting)
        except JsonError as e:
            raise r.fix(e) from None

    def _visit(self, r, access):
        out = []
        while r.next_element(access):
            out.append(self.inner.read(r))
        return out


class _Map(_Type):
    """A map with string keys (BTreeMap<String, _>, serde_json::Map): the last of
    duplicated keys wins."""

    expecting = "a map"

    def __init__(self, inner):
        self.inner = inner

    def read(self, r):
        b = self.begin(r)
        try:
            if b == 0x7B:
                return r.container(self._visit, True)
            raise r.invalid_type(self.expecting)
        except JsonError as e:
            raise r.fix(e) from None

    def _visit(self, r, access):
        out = {}
        key = r.next_key(access)
        while key is not None:
            r.colon()
            out[key] = self.inner.read(r)
            key = r.next_key(access)
        return out


def _one_of(names):
    quoted = [f"`{n}`" for n in names]
    if not quoted:
        return "there are no fields"
    if len(quoted) == 1:
        return "expected " + quoted[0]
    if len(quoted) == 2:
        return f"expected {quoted[0]} or {quoted[1]}"
    return "expected one of " + ", ".join(quoted)


class _Struct(_Type):
    """A serde-derived struct: a JSON object (fields in any order, unknown ones
    skipped or, with deny_unknown, refused) or an array of its fields in order."""

    def __init__(self, name, fields, deny_unknown=False):
        self.name = name
        self.expecting = f"struct {name}"
        self.fields = fields
        self.types = dict(fields)
        self.deny_unknown = deny_unknown

    def read(self, r):
        b = self.begin(r)
        try:
            if b == 0x5B:
                return r.container(self._visit_seq, False)
            if b == 0x7B:
                return r.container(self._visit_map, True)
            raise r.invalid_type(self.expecting)
        except JsonError as e:
            raise r.fix(e) from None

    def _visit_seq(self, r, access):
        out = {}
        for i, (field, kind) in enumerate(self.fields):
            if not r.next_element(access):
                raise JsonError(
                    f"invalid length {i}, expected struct {self.name} with "
                    f"{len(self.fields)} element{'' if len(self.fields) == 1 else 's'}"
                )
            out[field] = kind.read(r)
        return out

    def _visit_map(self, r, access):
        out = {}
        while True:
            key = r.next_key(access)
            if key is None:
                break
            kind = self.types.get(key)
            if kind is not None:
                if key in out:
                    raise JsonError(f"duplicate field `{key}`")
                r.colon()
                out[key] = kind.read(r)
            elif self.deny_unknown:
                names = [f for f, _ in self.fields]
                raise JsonError(f"unknown field `{key}`, {_one_of(names)}")
            else:
                r.colon()
                r.skip()
        for field, kind in self.fields:
            if field not in out:
                out[field] = kind.missing(field)
        return out


def read_json(data, kind):
    """Reads all of `data` (bytes) as `kind`, as serde_json::from_slice does;
    JsonError when it cannot."""
    r = Reader(data)
    value = kind.read(r)
    r.end()
    return value


VALUE = _Value()
STRING = _String()
_RAW_VALUE_STRING = _String()
_RAW_VALUE_STRING.expecting = "raw value"
BOOL = _Bool()
U32 = _Integer("u32", 0, 2**32 - 1)
U64 = _Integer("u64", 0, 2**64 - 1)
I64 = _Integer("i64", -(2**63), 2**63 - 1)

ENVELOPE = _Struct(
    "Envelope",
    [
        ("payload", STRING),
        ("payloadType", STRING),
        (
            "signatures",
            _Seq(_Struct("EnvelopeSignature", [("keyid", STRING), ("sig", STRING)], True)),
        ),
    ],
    deny_unknown=True,
)

PROOF = _Struct(
    "Proof",
    [
        ("checkpoint", I64),
        ("leafIndex", U64),
        ("treeSize", U64),
        ("auditPath", _Seq(STRING)),
    ],
    deny_unknown=True,
)

HISTORY_ITEM = _Struct(
    "HistoryItem",
    [
        ("entry", _Map(VALUE)),
        (
            "context",
            _Struct(
                "EntryContext",
                [("actorDisplayName", _Option(STRING)), ("actorErased", BOOL)],
                deny_unknown=True,
            ),
        ),
        ("proof", _Option(PROOF)),
    ],
    deny_unknown=True,
)

PACKET_REQUEST = _Struct(
    "PacketRequest",
    [
        ("id", STRING),
        ("operation", STRING),
        ("state", STRING),
        ("command", VALUE),
        ("commandDigest", STRING),
        ("requesterId", STRING),
        ("approverIds", _Seq(STRING)),
        ("policyVersion", STRING),
        ("evidence", VALUE),
        ("breakGlass", BOOL),
    ],
    deny_unknown=True,
)

STATEMENT = _Struct(
    "Statement",
    [
        ("_type", STRING),
        (
            "subject",
            _Seq(
                _Struct(
                    "Subject",
                    [("name", STRING), ("digest", _Map(STRING))],
                    deny_unknown=True,
                )
            ),
        ),
        ("predicateType", STRING),
        (
            "predicate",
            _Struct(
                "Packet",
                [
                    ("format", U32),
                    (
                        "entity",
                        _Struct(
                            "PacketEntity",
                            [
                                ("type", STRING),
                                ("id", STRING),
                                ("label", STRING),
                                ("deleted", BOOL),
                                ("version", _Option(I64)),
                                ("auditHead", _Option(STRING)),
                                ("state", VALUE),
                                ("stateDigest", STRING),
                            ],
                            deny_unknown=True,
                        ),
                    ),
                    ("policyVersion", STRING),
                    (
                        "exportedBy",
                        _Struct(
                            "Exporter",
                            [("userId", STRING), ("roles", _Seq(STRING))],
                            deny_unknown=True,
                        ),
                    ),
                    ("exportedAt", STRING),
                    ("exportEntryId", STRING),
                    ("signerKeyId", STRING),
                    ("history", _Seq(HISTORY_ITEM)),
                    ("checkpoints", _Seq(VALUE)),
                    ("lineage", VALUE),
                    ("inForce", VALUE),
                    ("requests", _Default(_Seq(PACKET_REQUEST), list)),
                ],
                deny_unknown=True,
            ),
        ),
    ],
    deny_unknown=True,
)


# ---------------------------------------------------------------------------
# RFC 8785 canonical JSON, timestamps, hashes
# ---------------------------------------------------------------------------


def _es_number(f):
    """ECMAScript's Number::toString of a finite double, as RFC 8785 writes numbers
    (and serde_jcs, through ryu-js)."""
    if f == 0:
        return "0"
    sign = "-" if f < 0 else ""
    digits, n = _shortest_digits(abs(f))
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        exp = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "")
        text += f"e{'+' if exp >= 0 else '-'}{abs(exp)}"
    return sign + text


def _jcs_integer(n):
    # ECMAScript Number-to-String of the nearest double, as serde_jcs writes every
    # integer (exact below 2^53).
    if -(2**53) <= n <= 2**53:
        return str(n)
    return _es_number(float(n))


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
    elif isinstance(value, JNumber):
        out.append(_es_number(value.value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _jcs(item, out)
        out.append("]")
    else:
        out.append("{")
        for i, name in enumerate(sorted(value, key=_jcs_key)):
            if i:
                out.append(",")
            out.append(json.dumps(name, ensure_ascii=False))
            out.append(":")
            _jcs(value[name], out)
        out.append("}")


def jcs(value):
    """RFC 8785 canonical JSON text of `value` (as read by the reader above)."""
    out = []
    _jcs(value, out)
    return "".join(out)


def jcs_digest(value):
    return hashlib.sha256(jcs(value).encode("utf-8")).hexdigest()


_CANONICAL_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\Z"
)


def _days_in_month(y, m):
    if m == 2:
        return 29 if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def is_canonical(text):
    """Whether `text` is a timestamp in the one canonical form govtrail hashes,
    `YYYY-MM-DDTHH:MM:SS.ffffffZ` (exactly six fractional digits, upper-case T and
    Z), and a real instant (no leap second: govtrail's clock never writes second 60).
    No other spelling of an instant is accepted, so no two texts share a hash."""
    if not isinstance(text, str) or not _CANONICAL_TIMESTAMP.match(text):
        return False
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    return (
        1 <= month <= 12
        and 1 <= day <= _days_in_month(year, month)
        and hour < 24
        and minute < 60
        and second < 60
    )


def content_hash(entry):
    """An entry's content hash: SHA-256 of the RFC 8785 form of the entry without
    `hash` and without null-valued fields; None when it has a `timestamp` that is not
    canonical text (the hash is never computed over a rewritten timestamp)."""
    body = {k: v for k, v in entry.items() if k != "hash" and v is not None}
    if "timestamp" in body and not is_canonical(body["timestamp"]):
        return None
    return jcs_digest(body)


def checkpoint_hash(checkpoint):
    """Hash of a checkpoint's body (all but `hash` and `signature`, `sealedAt` as it
    is written)."""
    body = checkpoint
    if isinstance(checkpoint, dict):
        body = {k: v for k, v in checkpoint.items() if k not in ("hash", "signature")}
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


def _tree_hash(leaves):
    """RFC 9162 section 2.1.1 Merkle tree hash of leaf texts (bytes)."""
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    left, right = _tree_hash(leaves[:split]), _tree_hash(leaves[split:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(entry_hashes):
    """The hex Merkle root over entry hashes (each leaf is the entry's hash text); the
    root of no leaves is SHA-256 of nothing."""
    if not entry_hashes:
        return hashlib.sha256(b"").hexdigest()
    return _tree_hash([h.encode("utf-8") for h in entry_hashes]).hex()


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
        envelope = read_json(data, ENVELOPE)
    except JsonError as e:
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
        statement = read_json(payload, STATEMENT)
    except JsonError as e:
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
    if not is_canonical(packet["exportedAt"]):
        verdict.problem(
            "the packet's exportedAt is not in the one canonical form "
            "(YYYY-MM-DDTHH:MM:SS.ffffffZ)"
        )
    if jcs_digest(entity["state"]) != entity["stateDigest"]:
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
    _check_requests(packet, verdict)


# Entries that act on a change request without being the change it runs.
_CHANGE_CONTROL = {
    "REQUEST_CHANGE",
    "APPROVE_CHANGE",
    "REJECT_CHANGE",
    "WITHDRAW_CHANGE",
    "EXPIRE_CHANGE",
    "REVIEW_BREAK_GLASS",
}


def _check_requests(packet, verdict):
    """Each change request's command hashes to its digest and is of its operation;
    each entry that executes a request ran that command (same digest and operation)
    with the approvers the request names (none for break-glass)."""
    by_id = {}
    for r in packet["requests"]:
        if r["id"] in by_id:
            verdict.problem(f"change request {r['id']} appears twice")
        by_id[r["id"]] = r
        if "sha256:" + jcs_digest(r["command"]) != r["commandDigest"]:
            verdict.problem(
                f"change request {r['id']}: its command does not hash to its "
                f"commandDigest {r['commandDigest']}: the command was changed"
            )
        if _field(r["command"], "operation") != r["operation"]:
            verdict.problem(
                f"change request {r['id']}: its command is not a {r['operation']} "
                "command: the request was changed"
            )
    for i, item in enumerate(packet["history"]):
        e = item["entry"]

        def text(k):
            v = e.get(k)
            return v if isinstance(v, str) else None

        request_id, operation = text("changeRequestId"), text("operation")
        if request_id is None or operation is None or operation in _CHANGE_CONTROL:
            continue
        eid = _entry_id(e, i)
        r = by_id.get(request_id)
        if r is None:
            verdict.problem(
                f"entry {eid} executes change request {request_id}, which the packet "
                "does not carry"
            )
            continue
        ran = text("commandDigest")
        ran = "none" if ran is None else ran
        if ran != r["commandDigest"]:
            verdict.problem(
                f"entry {eid} executes change request {request_id}, but the command "
                f"that ran ({ran}) is not the one the request holds ({r['commandDigest']})"
            )
        if operation != r["operation"]:
            verdict.problem(
                f"entry {eid} ran {operation}, but change request {request_id} holds "
                f"{r['operation']}"
            )
        if (e.get("breakGlass") is True) != r["breakGlass"]:
            verdict.problem(
                f"entry {eid} and change request {request_id} disagree on whether it "
                "broke glass"
            )
        named = sorted(_strings(e.get("approverIds")))
        approved = sorted(r["approverIds"])
        if named != approved:
            verdict.problem(
                f"entry {eid} and change request {request_id} name different approvers "
                f"({', '.join(named)} / {', '.join(approved)})"
            )


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
        computed = content_hash(entry)
        if computed is None:
            computed = ""
            verdict.problem(
                f"entry {entry_id}: its timestamp is not in the one canonical form "
                "(YYYY-MM-DDTHH:MM:SS.ffffffZ), so its hash cannot be recomputed: the "
                "entry was modified"
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


def _listed_strings(c, name):
    """A checkpoint's list of strings: None when absent or null (checkpoints from
    before govtrail recorded it); False when it is not a list of strings."""
    value = _field(c, name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return False
    return value


def _leaves_consistent(c, count):
    """A checkpoint that lists `entryHashes` and `entryEntities` lists one of each per
    entry, and its root is the Merkle root of those hashes."""
    hashes = _listed_strings(c, "entryHashes")
    entities = _listed_strings(c, "entryEntities")
    if hashes is False or entities is False:
        return False
    if hashes is not None and (
        len(hashes) != count or (count > 0 and _field(c, "root") != merkle_root(hashes))
    ):
        return False
    return entities is None or len(entities) == count


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
        if not is_canonical(_field(c, "sealedAt")):
            verdict.problem(
                f"checkpoint {seq}: its sealedAt is not in the one canonical form "
                "(YYYY-MM-DDTHH:MM:SS.ffffffZ): the checkpoint was modified"
            )
            ok = False
        if checkpoint_hash(c) != stated:
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
        if not _leaves_consistent(c, len(ids)):
            verdict.problem(
                f"checkpoint {seq}: the entry hashes or entities it lists do not match "
                "its entries and its root: the checkpoint was made inconsistent"
            )
            ok = False
        if ok:
            verdict.checkpoints += 1
        checkpoints[seq] = (c, ids, ok)
    # Which checkpoint seals each listed entry (the latest, when several list it).
    listing = {}
    for seq in sorted(checkpoints):
        for listed_id in checkpoints[seq][1]:
            listing[listed_id] = seq
    unsealed = []
    for i, item in enumerate(packet["history"]):
        entry_id = _entry_id(item["entry"], i)
        proof = item["proof"]
        if proof is None:
            if entry_id in listing:
                verdict.problem(
                    f"entry {entry_id}: checkpoint {listing[entry_id]} seals it, but the "
                    "packet gives no inclusion proof for it: the proof was removed"
                )
            else:
                unsealed.append(entry_id)
            continue
        sealing = checkpoints.get(proof["checkpoint"])
        if sealing is None:
            verdict.problem(
                f"entry {entry_id}: its proof refers to checkpoint {proof['checkpoint']}, "
                "which is not in the packet"
            )
            continue
        checkpoint, ids, verified = sealing
        leaf = proof["leafIndex"]
        listed = leaf < len(ids) and ids[leaf] == entry_id
        if not listed:
            verdict.problem(
                f"entry {entry_id}: checkpoint {proof['checkpoint']} does not list it at "
                f"leaf {leaf}"
            )
            continue
        if proof["treeSize"] != len(ids):
            verdict.problem(
                f"entry {entry_id}: its proof claims a tree of {proof['treeSize']} leaves, "
                f"but checkpoint {proof['checkpoint']} seals {len(ids)}: the proof was "
                "modified"
            )
            continue
        root = _field(checkpoint, "root")
        root = root if isinstance(root, str) else ""
        if verify_inclusion(root, proof["treeSize"], hashes[i], leaf, proof["auditPath"]):
            # A proof against a checkpoint that failed its checks proves nothing (that
            # checkpoint is already a problem).
            if verified:
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
