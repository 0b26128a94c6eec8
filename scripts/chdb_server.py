#!/usr/bin/env python3
"""ClickHouse HTTP interface in front of one persistent chdb session.

chdb is the real ClickHouse engine built as an in-process library; it has no
network server. This adapter gives HTTP clients (the Rust `clickhouse` crate,
curl, ...) a ClickHouse HTTP endpoint backed by one `chdb.session.Session`
over a data directory. It is for development and tests only: every statement
is serialised behind one lock.

What it implements of the ClickHouse HTTP interface:

* `GET/HEAD /ping`, `GET /`, `GET /replicas_status` -> `Ok.\\n`
* the query from the `query` URL parameter and/or the POST body (both: URL
  query, a newline, then the body); `query` and `param_*` fields of a
  multipart/form-data body (what the Rust crate sends when `.param()` is used)
* `database` (or `X-ClickHouse-Database`) -> the query runs in that database
* `default_format` (or `X-ClickHouse-Format`) -> output format when the query
  has no FORMAT clause; TabSeparated otherwise
* `param_<name>` -> server-side `{name:Type}` parameters
* every other URL parameter that is not an HTTP-interface parameter is a
  ClickHouse setting for this request only; unknown settings fail with
  Code 115 UNKNOWN_SETTING as in ClickHouse
* `INSERT ... FORMAT F` with a streamed (chunked or sized) body goes to
  `Session.send_insert` chunk by chunk, no temp files
* `client_protocol_version=N` (clickhouse-go sends it, with Native) -> a Native
  result as ClickHouse writes it for a client of protocol revision N: the
  block-info header before each block, from 54454 the custom-serialization
  flag (0) after each column's type. chdb writes Native as for revision 0;
  the adapter walks its blocks to add these, and refuses (NOT_IMPLEMENTED) a
  column type it cannot walk (JSON, Dynamic, Variant, Object, AggregateFunction
  states) and, below 54405, LowCardinality (which it would have to expand)
* `decompress=1`: request body in ClickHouse's native compressed-block framing
  (CityHash128 checksum, method byte 0x82 LZ4 / 0x90 ZSTD / 0x02 none, sizes),
  checksums verified; `compress=1`: response in the same framing (LZ4)
* request `Content-Encoding` gzip/deflate/lz4/zstd; response
  `Content-Encoding` when `enable_http_compression=1` and the client accepts it
* errors: HTTP status as ClickHouse maps the exception, header
  `X-ClickHouse-Exception-Code`, body `Code: N. DB::Exception: ...`
* headers `X-ClickHouse-Query-Id`, `X-ClickHouse-Format`,
  `X-ClickHouse-Summary`, `X-ClickHouse-Timezone`
* TCP_NODELAY on accepted sockets, HTTP/1.1 keep-alive, one thread per
  connection, one lock around the session.

Not implemented: authentication (user/password are accepted and ignored),
`session_id` sessions (all requests share one engine session; per-request
settings and database are applied and reverted around each request), readonly
enforcement of GET requests, progress headers.
"""

from __future__ import annotations

import argparse
import http.server
import json
import logging
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import uuid
import zlib
from urllib.parse import parse_qsl, urlsplit

import chdb  # noqa: F401  (imported for its side effects / version)
from chdb.session import Session

try:
    import lz4.block as lz4_block
    import lz4.frame as lz4_frame
except ImportError:  # pragma: no cover - infra.sh installs lz4
    lz4_block = None
    lz4_frame = None

try:
    import zstandard
except ImportError:  # optional
    zstandard = None

try:
    from clickhouse_cityhash.cityhash import CityHash128
except ImportError:  # optional: checksums are then not verified / compress=1 unsupported
    CityHash128 = None

LOG = logging.getLogger("chdb_server")

# URL parameters of the HTTP interface that are not settings.
NON_SETTING_PARAMS = {
    "query",
    "database",
    "default_format",
    "compress",
    "decompress",
    "user",
    "password",
    "quota_key",
    "query_id",
    "session_id",
    "session_timeout",
    "session_check",
    "wait_end_of_query",
    "http_wait_end_of_query_deprecated",
    "buffer_size",
    "role",
    "stacktrace",
    "client_protocol_version",
    "default_database",
    "cancel_http_readonly_queries_on_client_close",
    "enable_http_compression",
    "http_zlib_compression_level",
    "http_native_compression_disable_checksumming_on_decompress",
    "add_http_cors_header",
}

# Exception name -> HTTP status, as src/Server/HTTP/exceptionCodeToHTTPStatus.cpp.
HTTP_STATUS_BY_NAME = {}
for _name in ("REQUIRED_PASSWORD",):
    HTTP_STATUS_BY_NAME[_name] = 401
for _name in ("UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"):
    HTTP_STATUS_BY_NAME[_name] = 403
for _name in (
    "BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT", "CANNOT_PARSE_ESCAPE_SEQUENCE",
    "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE", "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER",
    "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6",
    "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN",
    "UNKNOWN_ELEMENT_IN_AST", "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST",
    "TOO_BIG_AST", "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
    "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
):
    HTTP_STATUS_BY_NAME[_name] = 400
for _name in (
    "UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE", "UNKNOWN_STORAGE",
    "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION",
    "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE",
):
    HTTP_STATUS_BY_NAME[_name] = 404
HTTP_STATUS_BY_NAME.update(
    {
        "QUERY_IS_TOO_LARGE": 413,
        "NOT_IMPLEMENTED": 501,
        "SOCKET_TIMEOUT": 503,
        "CANNOT_OPEN_FILE": 503,
        "CANNOT_SCHEDULE_TASK": 503,
        "HTTP_LENGTH_REQUIRED": 411,
        "TIMEOUT_EXCEEDED": 408,
        "UNSUPPORTED_MEDIA_TYPE": 415,
    }
)

# Error codes this adapter raises itself (numbers as in ClickHouse's ErrorCodes.cpp).
ERR = {
    "BAD_ARGUMENTS": 36,
    "CHECKSUM_DOESNT_MATCH": 40,
    "SYNTAX_ERROR": 62,
    "UNKNOWN_SETTING": 115,
    "READONLY": 164,
    "UNKNOWN_COMPRESSION_METHOD": 89,
    "CANNOT_DECOMPRESS": 271,
    "NOT_IMPLEMENTED": 48,
    "UNKNOWN_DATABASE": 81,
    "HTTP_LENGTH_REQUIRED": 381,
    "UNSUPPORTED_METHOD": 1,
}

IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
EXC_RE = re.compile(r"Code:\s*(\d+)\.\s*(DB::Exception:.*)", re.S)
EXC_NAME_RE = re.compile(r"\(([A-Z][A-Z0-9_]+)\)\s*$")
VERSION_SUFFIX_RE = re.compile(r"\s*\(version [^()]*(?:\([^()]*\))?\)\s*$")
# FORMAT <name> at the end of a query (optionally followed by ';').
TRAILING_FORMAT_RE = re.compile(r"\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$", re.I)
# `INSERT ... FORMAT <name>` then the data (bytes regex).
INSERT_FORMAT_RE = re.compile(rb"^(.*?\bFORMAT\s+([A-Za-z0-9_]+))[ \t]*(?:\r?\n)?", re.I | re.S)

NATIVE_METHOD_NONE = 0x02
NATIVE_METHOD_LZ4 = 0x82
NATIVE_METHOD_ZSTD = 0x90
NATIVE_MAX_BLOCK = 1 << 20


class ClickHouseError(Exception):
    """An error in ClickHouse's shape: numeric code, name, and message."""

    def __init__(self, code: int, message: str, name: str | None = None):
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.name = name

    @classmethod
    def of(cls, name: str, message: str) -> "ClickHouseError":
        return cls(ERR[name], f"{message} ({name})", name)

    @classmethod
    def from_exception(cls, exc: BaseException) -> "ClickHouseError":
        if isinstance(exc, ClickHouseError):
            return exc
        text = str(exc)
        m = EXC_RE.search(text)
        if not m:
            return cls(1001, f"std::exception. {type(exc).__name__}: {text} (STD_EXCEPTION)", "STD_EXCEPTION")
        code = int(m.group(1))
        msg = m.group(2)
        if msg.startswith("DB::Exception: "):
            msg = msg[len("DB::Exception: "):]
        msg = VERSION_SUFFIX_RE.sub("", msg.rstrip())
        nm = EXC_NAME_RE.search(msg)
        return cls(code, msg, nm.group(1) if nm else None)

    def http_status(self) -> int:
        return HTTP_STATUS_BY_NAME.get(self.name or "", 500)

    def body(self, version: str) -> bytes:
        return f"Code: {self.code}. DB::Exception: {self.message} (version {version} (official build))\n".encode()


def sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_ident(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def strip_leading_comments(sql: str) -> str:
    s = sql
    while True:
        s = s.lstrip()
        if s.startswith("--") or s.startswith("#"):
            nl = s.find("\n")
            s = "" if nl < 0 else s[nl + 1:]
        elif s.startswith("/*"):
            end = s.find("*/")
            s = "" if end < 0 else s[end + 2:]
        else:
            return s


# Statements a readonly request may run.
READ_KEYWORDS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN"}


def first_keyword(sql: str) -> str:
    s = strip_leading_comments(sql).lstrip("(")
    m = re.match(r"[A-Za-z]+", s)
    return m.group(0).upper() if m else ""


def strip_format(head: bytes) -> str:
    """`INSERT INTO t(a) FORMAT X` -> `INSERT INTO t(a)` (what send_insert wants)."""
    return re.sub(rb"\s*\bFORMAT\s+[A-Za-z0-9_]+$", b"", head, flags=re.I).decode("utf-8", "surrogateescape")


def content_type_for(fmt: str) -> str:
    f = fmt.lower()
    if f.startswith("tabseparated") or f.startswith("tsv"):
        return "text/tab-separated-values; charset=UTF-8"
    if f.startswith("csv"):
        return "text/csv; charset=UTF-8; header=absent"
    if f.startswith("json") or f.startswith("ndjson"):
        return "application/json; charset=UTF-8"
    if f.startswith("pretty") or f in ("vertical", "markdown", "values", "xml", "prometheus"):
        return "text/plain; charset=UTF-8"
    return "application/octet-stream"


# ---------------------------------------------------------------------------
# native compressed-block framing


def native_checksum(data: bytes) -> bytes:
    # clickhouse_cityhash returns the 128-bit value with CityHash's first 64-bit half in the
    # high bits; ClickHouse writes that half first, each half little-endian.
    h = CityHash128(data)
    return (h >> 64).to_bytes(8, "little") + (h & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")


def native_compress(data: bytes) -> bytes:
    if CityHash128 is None or lz4_block is None:
        raise ClickHouseError.of("NOT_IMPLEMENTED", "compress=1 needs the lz4 and clickhouse-cityhash modules")
    out = []
    for off in range(0, max(len(data), 1), NATIVE_MAX_BLOCK):
        raw = data[off:off + NATIVE_MAX_BLOCK]
        comp = lz4_block.compress(raw, store_size=False)
        header = struct.pack("<BII", NATIVE_METHOD_LZ4, 9 + len(comp), len(raw))
        out.append(native_checksum(header + comp) + header + comp)
        if not data:
            break
    return b"".join(out)


class NativeDecompressor:
    """Incrementally decodes ClickHouse's native compressed-block framing."""

    def __init__(self, verify: bool = True):
        self.buf = bytearray()
        self.verify = verify and CityHash128 is not None

    def feed(self, chunk: bytes):
        self.buf += chunk
        while len(self.buf) >= 25:
            method = self.buf[16]
            comp_size, raw_size = struct.unpack_from("<II", self.buf, 17)
            if comp_size < 9:
                raise ClickHouseError.of("CANNOT_DECOMPRESS", f"Too small compressed block size {comp_size}")
            total = 16 + comp_size
            if len(self.buf) < total:
                return
            frame = bytes(self.buf[16:total])
            if self.verify and native_checksum(frame) != bytes(self.buf[:16]):
                raise ClickHouseError.of("CHECKSUM_DOESNT_MATCH", "Checksum doesn't match: corrupted data")
            del self.buf[:total]
            payload = frame[9:]
            if method == NATIVE_METHOD_LZ4:
                if lz4_block is None:
                    raise ClickHouseError.of("NOT_IMPLEMENTED", "LZ4 needs the lz4 module")
                try:
                    yield lz4_block.decompress(payload, uncompressed_size=raw_size)
                except Exception as e:  # noqa: BLE001
                    raise ClickHouseError.of("CANNOT_DECOMPRESS", f"Cannot decompress LZ4-encoded data: {e}")
            elif method == NATIVE_METHOD_ZSTD:
                if zstandard is None:
                    raise ClickHouseError.of("NOT_IMPLEMENTED", "ZSTD needs the zstandard module")
                try:
                    yield zstandard.ZstdDecompressor().decompress(payload, max_output_size=raw_size)
                except Exception as e:  # noqa: BLE001
                    raise ClickHouseError.of("CANNOT_DECOMPRESS", f"Cannot decompress ZSTD-encoded data: {e}")
            elif method == NATIVE_METHOD_NONE:
                yield payload
            else:
                raise ClickHouseError.of("UNKNOWN_COMPRESSION_METHOD", f"Unknown compression method: {method:#x}")

    def finish(self):
        if self.buf:
            raise ClickHouseError.of("CANNOT_DECOMPRESS", f"Truncated compressed block ({len(self.buf)} bytes left)")


def http_decoder(encoding: str):
    """Returns a (feed, flush) pair for an HTTP Content-Encoding of a request body."""
    enc = encoding.strip().lower()
    if enc in ("", "identity"):
        return (lambda b: b), (lambda: b"")
    if enc in ("gzip", "x-gzip", "deflate"):
        d = zlib.decompressobj(zlib.MAX_WBITS | 32 if enc != "deflate" else zlib.MAX_WBITS)
        return d.decompress, d.flush
    if enc == "lz4" and lz4_frame is not None:
        d = lz4_frame.LZ4FrameDecompressor()
        return d.decompress, (lambda: b"")
    if enc == "zstd" and zstandard is not None:
        d = zstandard.ZstdDecompressor().decompressobj()
        return d.decompress, d.flush
    raise ClickHouseError.of("UNKNOWN_COMPRESSION_METHOD", f"Unknown HTTP Content-Encoding: {encoding}")


def http_encoder(encoding: str, level: int):
    enc = encoding
    if enc in ("gzip", "deflate"):
        c = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16 if enc == "gzip" else zlib.MAX_WBITS)
        return c.compress, c.flush
    if enc == "lz4":
        c = lz4_frame.LZ4FrameCompressor()
        started = []

        def feed(b):
            out = b"" if started else c.begin()
            started.append(1)
            return out + c.compress(b)

        def flush():
            return (b"" if started else c.begin()) + c.flush()

        return feed, flush
    if enc == "zstd":
        c = zstandard.ZstdCompressor(level=level).compressobj()
        return c.compress, c.flush
    raise ValueError(enc)


def pick_response_encoding(accept: str) -> str | None:
    offered = [p.split(";")[0].strip().lower() for p in accept.split(",") if p.strip()]
    for enc in offered:
        if enc in ("gzip", "deflate"):
            return enc
        if enc == "lz4" and lz4_frame is not None:
            return enc
        if enc == "zstd" and zstandard is not None:
            return enc
    return None


# ---------------------------------------------------------------------------
# Native results for a client's protocol revision (client_protocol_version)

# Protocol revisions (ClickHouse's ProtocolDefines.h) that change a Native result.
REVISION_WITH_LOW_CARDINALITY = 54405
REVISION_WITH_CUSTOM_SERIALIZATION = 54454
# A result block's BlockInfo: field 1 is_overflows = false, field 2
# bucket_num = -1, field 0 ends it.
NATIVE_BLOCK_INFO = b"\x01\x00\x02\xff\xff\xff\xff\x00"
# Bytes per value of the fixed-size types.
NATIVE_FIXED = {
    "UInt8": 1, "Int8": 1, "Bool": 1, "Enum8": 1, "Nothing": 1,
    "UInt16": 2, "Int16": 2, "Enum16": 2, "Date": 2, "BFloat16": 2,
    "UInt32": 4, "Int32": 4, "Float32": 4, "Date32": 4, "DateTime": 4, "IPv4": 4, "Decimal32": 4, "Time": 4,
    "UInt64": 8, "Int64": 8, "Float64": 8, "DateTime64": 8, "Decimal64": 8, "Time64": 8,
    "UInt128": 16, "Int128": 16, "UUID": 16, "IPv6": 16, "Decimal128": 16,
    "UInt256": 32, "Int256": 32, "Decimal256": 32,
}
# Types that are another type on the wire.
NATIVE_ALIASES = {
    "Point": "Tuple(Float64, Float64)", "Ring": "Array(Point)", "LineString": "Array(Point)",
    "MultiLineString": "Array(Ring)", "Polygon": "Array(Ring)", "MultiPolygon": "Array(Polygon)",
}


def split_type_args(text: str) -> list[str]:
    """`a, Map(b, c), 'x,y'` -> ['a', 'Map(b, c)', "'x,y'"]: top-level commas only."""
    out, depth, start, quote, i = [], 0, 0, None, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'`\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
        i += 1
    out.append(text[start:].strip())
    return [a for a in out if a]


def parse_type(text: str) -> tuple[str, list[str]]:
    """`Map(String, UInt64)` -> ('Map', ['String', 'UInt64'])."""
    text = NATIVE_ALIASES.get(text.strip(), text.strip())
    open_at = text.find("(")
    if open_at < 0:
        return text, []
    return text[:open_at], split_type_args(text[open_at + 1:text.rindex(")")])


def tuple_element_type(element: str) -> str:
    """A Tuple element, `name Type` or `Type`, -> its type."""
    depth, quote = 0, None
    for i, ch in enumerate(element):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'`\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == " " and depth == 0:
            return element[i + 1:].strip()
    return element


class NativeWalker:
    """Walks chdb's Native result (as written for protocol revision 0) to find
    where each column's data ends; nothing is decoded or copied."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.data):
            raise ClickHouseError.of("NOT_IMPLEMENTED", "Native result ends inside a column")
        self.pos += n

    def varuint(self) -> int:
        value = shift = 0
        while True:
            if self.pos >= len(self.data):
                raise ClickHouseError.of("NOT_IMPLEMENTED", "Native result ends inside a number")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    def string(self) -> bytes:
        n = self.varuint()
        start = self.pos
        self.take(n)
        return self.data[start:self.pos]

    def uint64(self) -> int:
        start = self.pos
        self.take(8)
        return struct.unpack_from("<Q", self.data, start)[0]

    def prefix(self, type_text: str) -> None:
        """The serialization state prefix: LowCardinality's key version, nested."""
        name, args = parse_type(type_text)
        if name == "LowCardinality":
            self.uint64()
        elif name in ("Array", "Nullable"):
            self.prefix(args[0])
        elif name == "Map":
            self.prefix(args[0])
            self.prefix(args[1])
        elif name in ("Tuple", "Nested"):
            for element in args:
                self.prefix(tuple_element_type(element))
        elif name == "SimpleAggregateFunction":
            self.prefix(args[-1])

    def column(self, type_text: str, rows: int) -> None:
        """Skips `rows` values of a column (after its prefix)."""
        if rows == 0:
            return  # nothing is written for no values, whatever the type
        name, args = parse_type(type_text)
        if name in NATIVE_FIXED or name.startswith("Interval"):
            self.take(NATIVE_FIXED.get(name, 8) * rows)
        elif name == "Decimal":
            precision = int(args[0])
            self.take(rows * (4 if precision <= 9 else 8 if precision <= 18 else 16 if precision <= 38 else 32))
        elif name == "FixedString":
            self.take(rows * int(args[0]))
        elif name == "String":
            for _ in range(rows):
                self.take(self.varuint())
        elif name == "Nullable":
            self.take(rows)
            self.column(args[0], rows)
        elif name in ("Array", "Map", "Nested"):
            self.take(8 * (rows - 1))
            values = self.uint64()  # the last offset: how many values in all
            if name == "Array":
                self.column(args[0], values)
            else:
                for element in (args if name == "Nested" else args[:2]):
                    self.column(tuple_element_type(element), values)
        elif name == "Tuple":
            for element in args:
                self.column(tuple_element_type(element), rows)
        elif name == "LowCardinality":
            flags = self.uint64()
            if flags & (1 << 8):
                raise ClickHouseError.of("NOT_IMPLEMENTED", "LowCardinality with a global dictionary in Native")
            keys = self.uint64()
            inner, inner_args = parse_type(args[0])
            self.column(inner_args[0] if inner == "Nullable" else args[0], keys)
            self.take(self.uint64() << (flags & 0xFF))
        elif name == "SimpleAggregateFunction":
            self.column(args[-1], rows)
        else:
            raise ClickHouseError.of(
                "NOT_IMPLEMENTED", f"columns of type {type_text} with client_protocol_version")


def native_for_revision(data: bytes, revision: int) -> bytes:
    """chdb's Native result rewritten as ClickHouse sends it to a client of
    protocol `revision` (> 0): BlockInfo before each block and, from 54454, a
    "no custom serialization" flag after each column's type."""
    walker, out = NativeWalker(data), []
    while walker.pos < len(data):
        out.append(NATIVE_BLOCK_INFO)
        start = walker.pos
        columns, rows = walker.varuint(), walker.varuint()
        out.append(data[start:walker.pos])
        for _ in range(columns):
            start = walker.pos
            walker.string()
            type_text = walker.string().decode()
            if revision < REVISION_WITH_LOW_CARDINALITY and "LowCardinality" in type_text:
                # ClickHouse would send such a client the values without the dictionary.
                raise ClickHouseError.of(
                    "NOT_IMPLEMENTED", f"LowCardinality columns for client_protocol_version {revision}")
            out.append(data[start:walker.pos])
            if revision >= REVISION_WITH_CUSTOM_SERIALIZATION:
                out.append(b"\x00")
            start = walker.pos
            if rows:
                walker.prefix(type_text)
                walker.column(type_text, rows)
            out.append(data[start:walker.pos])
    return b"".join(out)


def client_revision(params: dict) -> int:
    value = params.get("client_protocol_version") or "0"
    if not value.isdigit():
        raise ClickHouseError.of("BAD_ARGUMENTS", f"client_protocol_version: not a number: {value}")
    return int(value)


# ---------------------------------------------------------------------------
# engine


class Engine:
    """One chdb session plus the per-request state handling around it."""

    def __init__(self, datadir: str):
        os.makedirs(datadir, exist_ok=True)
        self.datadir = datadir
        self.session = Session(datadir)
        self.lock = threading.Lock()
        self.current_db: str | None = None
        res = self.session.query("SELECT version(), timezone()", "TabSeparated").bytes().decode().strip()
        self.version, self.timezone = res.split("\t")
        self.baseline = self._changed_settings()
        self._use("default")

    def close(self):
        with self.lock:
            self.session.close()

    def _changed_settings(self) -> dict:
        out = self.session.query("SELECT name, value FROM system.settings WHERE changed", "TabSeparated")
        res = {}
        for line in out.bytes().decode().splitlines():
            if "\t" in line:
                k, v = line.split("\t", 1)
                res[k] = v
        return res

    def _use(self, db: str):
        if self.current_db != db:
            self.session.query(f"USE {sql_ident(db)}")
            self.current_db = db

    def prepare(self, database: str, settings: dict, keyword: str = "") -> list:
        """Under the lock: switch database and apply settings; returns what to revert."""
        self._use(database or "default")
        # `readonly` cannot be lowered again within a session once raised, and
        # this one session serves every client: enforce it here instead.
        readonly = settings.pop("readonly", None) if settings else None
        if readonly not in (None, "", "0") and keyword not in READ_KEYWORDS:
            raise ClickHouseError.of(
                "READONLY", f"Cannot execute query in readonly mode (readonly = {readonly})")
        if not settings:
            return []
        for name in settings:
            if not IDENT_RE.match(name):
                raise ClickHouseError.of("UNKNOWN_SETTING", f"Unknown setting '{name}'")
        assignments = ", ".join(f"{k} = {sql_string(v)}" for k, v in settings.items())
        names = list(settings)
        try:
            self.session.query(f"SET {assignments}")
        except Exception:
            # SET is applied setting by setting; some may have been applied before the failure.
            self.revert(names)
            raise
        return names

    def revert(self, names: list):
        if not names:
            return
        parts = []
        for n in names:
            if not IDENT_RE.match(n):
                continue
            parts.append(f"{n} = {sql_string(self.baseline[n])}" if n in self.baseline else f"{n} = DEFAULT")
        for p in parts:
            try:
                self.session.query(f"SET {p}")
            except Exception:  # noqa: BLE001 - unknown setting: was never applied
                pass

    def reset_after_statement(self, keyword: str):
        """A client `USE`/`SET` has no lasting effect over HTTP without a session: undo it."""
        if keyword == "USE":
            self.current_db = None
            self._use("default")
        elif keyword == "SET":
            now = self._changed_settings()
            changed = [k for k, v in now.items() if self.baseline.get(k) != v and k != "database"]
            self.revert(changed)


# ---------------------------------------------------------------------------
# HTTP


class Request:
    """Body reader for one HTTP request: sized, chunked, or none."""

    def __init__(self, rfile, headers):
        self.rfile = rfile
        te = (headers.get("Transfer-Encoding") or "").lower()
        self.chunked = "chunked" in te
        cl = headers.get("Content-Length")
        self.remaining = int(cl) if (cl and not self.chunked) else 0
        self.finished = not self.chunked and self.remaining == 0
        self.has_body = not self.finished

    def chunks(self, size: int = 1 << 20):
        if self.finished:
            return
        if not self.chunked:
            while self.remaining > 0:
                data = self.rfile.read(min(size, self.remaining))
                if not data:
                    raise ConnectionError("client closed the connection mid-body")
                self.remaining -= len(data)
                yield data
            self.finished = True
            return
        while True:
            line = self.rfile.readline(65537)
            if not line:
                raise ConnectionError("client closed the connection mid-body")
            n = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if n == 0:
                while True:  # trailers
                    t = self.rfile.readline(65537)
                    if not t or t in (b"\r\n", b"\n"):
                        break
                self.finished = True
                return
            data = self.rfile.read(n)
            if len(data) != n:
                raise ConnectionError("client closed the connection mid-chunk")
            self.rfile.readline(3)  # CRLF after the chunk, read before yielding
            yield data

    def read_all(self) -> bytes:
        return b"".join(self.chunks())

    def drain(self):
        for _ in self.chunks():
            pass


def parse_multipart(body: bytes, content_type: str) -> dict:
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise ClickHouseError.of("BAD_ARGUMENTS", "multipart/form-data without boundary")
    delim = b"--" + m.group(1).encode()
    fields = {}
    for part in body.split(delim)[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        head, sep, value = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        if value.endswith(b"\r\n"):
            value = value[:-2]
        nm = re.search(rb'name="([^"]*)"', head)
        if nm:
            fields[nm.group(1).decode()] = value.decode("utf-8", "surrogateescape")
    return fields


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "chdb-http"
    engine: Engine = None  # set on the class at startup
    spool_bytes = 64 << 20

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):  # route http.server's logs to logging
        LOG.debug("%s - %s", self.address_string(), fmt % args)

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    # -- plumbing ---------------------------------------------------------

    def _send(self, status: int, body: bytes, headers: dict | None = None, close: bool = False):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _send_error(self, err: ClickHouseError, query_id: str, close: bool = False):
        body = err.body(self.engine.version)
        LOG.info("error %s %s: %s", err.code, err.name or "", err.message[:300])
        self._send(
            err.http_status(),
            body,
            {
                "Content-Type": "text/plain; charset=UTF-8",
                "X-ClickHouse-Exception-Code": str(err.code),
                "X-ClickHouse-Query-Id": query_id,
                "X-ClickHouse-Server-Display-Name": "chdb",
            },
            close=close,
        )

    def _simple_ok(self):
        self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = urlsplit(self.path).path
        if path in ("/ping", "/replicas_status") or (path == "/" and "query=" not in self.path):
            self._simple_ok()
            return
        self._handle()

    def do_POST(self):
        self._handle()

    def do_OPTIONS(self):
        self._send(204, b"", {"Allow": "GET, POST, HEAD, OPTIONS"})

    # -- the query --------------------------------------------------------

    def _handle(self):
        t0 = time.monotonic()
        url = urlsplit(self.path)
        params = {}
        for k, v in parse_qsl(url.query, keep_blank_values=True):
            params[k] = v
        query_id = params.get("query_id") or self.headers.get("X-ClickHouse-Query-Id") or str(uuid.uuid4())
        req = Request(self.rfile, self.headers)
        if url.path not in ("/", ""):
            req.drain() if req.has_body else None
            self._send(404, b"There is no handle " + url.path.encode() + b"\n", {"Content-Type": "text/plain"})
            return
        try:
            self._run(req, params, query_id, t0)
        except (ConnectionError, BrokenPipeError) as e:
            LOG.info("client connection lost: %s", e)
            self.close_connection = True
        except Exception as e:  # noqa: BLE001
            err = ClickHouseError.from_exception(e)
            close = False
            if not req.finished:
                # read the rest of the body so the client gets the error rather than a reset
                # connection; give up (and close) past a bound
                try:
                    drained = 0
                    for chunk in req.chunks():
                        drained += len(chunk)
                        if drained > (1 << 30):
                            close = True
                            break
                except (OSError, ValueError):
                    close = True
            self._send_error(err, query_id, close=close)

    def _request_body_stream(self, req: Request, params: dict):
        """Yields the decoded request body: HTTP Content-Encoding then native framing."""
        feed, flush = http_decoder(self.headers.get("Content-Encoding") or "")
        native = NativeDecompressor() if params.get("decompress") in ("1", "true") else None

        def decoded():
            for chunk in req.chunks():
                out = feed(chunk)
                if out:
                    yield out
            tail = flush()
            if tail:
                yield tail

        if native is None:
            yield from decoded()
            return
        for chunk in decoded():
            yield from native.feed(chunk)
        native.finish()

    def _run(self, req: Request, params: dict, query_id: str, t0: float):
        engine = self.engine
        ctype = self.headers.get("Content-Type") or ""
        url_query = params.get("query")
        body_stream = None
        if req.has_body and ctype.lower().startswith("multipart/form-data"):
            fields = parse_multipart(req.read_all(), ctype)
            for k, v in fields.items():
                if k == "query" or k.startswith("param_"):
                    params[k] = v
            url_query = params.get("query")
        elif req.has_body:
            body_stream = self._request_body_stream(req, params)

        database = params.get("database") or self.headers.get("X-ClickHouse-Database") or "default"
        default_format = params.get("default_format") or self.headers.get("X-ClickHouse-Format") or "TabSeparated"
        qparams = {k[len("param_"):]: v for k, v in params.items() if k.startswith("param_")}
        settings = {k: v for k, v in params.items() if k not in NON_SETTING_PARAMS and not k.startswith("param_")}

        insert_head = insert_format = None
        prefix = b""
        sql = None
        if url_query is not None and first_keyword(url_query) == "INSERT":
            m = INSERT_FORMAT_RE.match(url_query.encode())
            if m:
                insert_head = strip_format(m.group(1))
                insert_format = m.group(2).decode()
                prefix = url_query.encode()[m.end():]
                if prefix:
                    prefix += b"\n"
        if insert_head is None:
            # the whole query text: URL query, newline, body
            body = b"".join(body_stream) if body_stream is not None else b""
            if url_query is not None and body:
                text = url_query.encode() + b"\n" + body
            elif url_query is not None:
                text = url_query.encode()
            else:
                text = body
            if not text.strip():
                raise ClickHouseError.of("SYNTAX_ERROR", "Empty query")
            if first_keyword(text[:4096].decode("utf-8", "replace")) == "INSERT":
                m = INSERT_FORMAT_RE.match(text)
                if m and text[m.end():].strip():
                    insert_head = strip_format(m.group(1))
                    insert_format = m.group(2).decode()
                    body_stream = iter([text[m.end():]])
                    prefix = b""
            if insert_head is None:
                sql = text.decode("utf-8", "surrogateescape")

        if insert_head is not None:
            self._run_insert(engine, database, settings, insert_head, insert_format, prefix, body_stream, query_id, t0)
        else:
            self._run_query(engine, database, settings, sql, default_format, qparams, params, query_id, t0)

    def _run_insert(self, engine, database, settings, head, fmt, prefix, body_stream, query_id, t0):
        # Spool the body without holding the lock (a slow or long-open INSERT must not block
        # other clients); past spool_bytes, take the lock and stream the rest.
        spooled = [prefix] if prefix else []
        size = len(prefix)
        it = iter(body_stream) if body_stream is not None else iter(())
        overflow = False
        for chunk in it:
            spooled.append(chunk)
            size += len(chunk)
            if size >= self.spool_bytes:
                overflow = True
                break
        total = 0
        with engine.lock:
            reverted = engine.prepare(database, settings, "INSERT")
            try:
                ins = engine.session.send_insert(head, fmt)
                try:
                    for chunk in spooled:
                        ins.append(chunk)
                        total += len(chunk)
                    spooled.clear()
                    if overflow:
                        for chunk in it:
                            ins.append(chunk)
                            total += len(chunk)
                    res = ins.finish()
                except BaseException:
                    try:
                        ins.cancel()
                    except Exception:  # noqa: BLE001
                        pass
                    raise
            finally:
                engine.revert(reverted)
        elapsed = time.monotonic() - t0
        summary = {
            "read_rows": "0", "read_bytes": "0",
            "written_rows": str(res.rows_written), "written_bytes": str(res.bytes_written),
            "total_rows_to_read": "0", "result_rows": str(res.rows_written),
            "result_bytes": str(res.bytes_written), "elapsed_ns": str(int(elapsed * 1e9)),
        }
        LOG.info("insert %s rows=%d bytes=%d %.3fs: %s", fmt, res.rows_written, total, elapsed, head[:200])
        self._send(200, b"", {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Summary": json.dumps(summary, separators=(",", ":")),
            "X-ClickHouse-Server-Display-Name": "chdb",
            "X-ClickHouse-Timezone": engine.timezone,
            "Content-Type": "text/plain; charset=UTF-8",
        })

    def _run_query(self, engine, database, settings, sql, default_format, qparams, params, query_id, t0):
        m = TRAILING_FORMAT_RE.search(sql[-200:])
        out_format = m.group(1) if m else default_format
        keyword = first_keyword(sql)
        revision = client_revision(params) if out_format == "Native" else 0
        compress_native = params.get("compress") in ("1", "true")
        encoding = None
        if params.get("enable_http_compression") in ("1", "true"):
            encoding = pick_response_encoding(self.headers.get("Accept-Encoding") or "")
        level = int(params.get("http_zlib_compression_level") or 3)

        def headers_for(summary=None):
            h = {
                "Content-Type": content_type_for(out_format),
                "X-ClickHouse-Format": out_format,
                "X-ClickHouse-Query-Id": query_id,
                "X-ClickHouse-Server-Display-Name": "chdb",
                "X-ClickHouse-Timezone": engine.timezone,
            }
            if summary:
                h["X-ClickHouse-Summary"] = json.dumps(summary, separators=(",", ":"))
            if encoding:
                h["Content-Encoding"] = encoding
            return h

        # The whole result is materialised under the lock, then sent without it. (chdb's
        # send_query() streaming is not used: it formats every chunk as a separate result, so
        # formats with a header or prefix -- RowBinaryWithNamesAndTypes, TSVWithNames, JSON --
        # come out corrupted when the chunks are concatenated.)
        with engine.lock:
            reverted = engine.prepare(database, settings, keyword)
            try:
                result = engine.session.query(sql, out_format, params=qparams)
                if keyword in ("USE", "SET"):
                    engine.reset_after_statement(keyword)
            finally:
                engine.revert(reverted)
        data = result.bytes()
        if revision:
            data = native_for_revision(data, revision)
        summary = {
            "read_rows": str(result.rows_read()), "read_bytes": str(result.bytes_read()),
            "written_rows": str(result.rows_written()), "written_bytes": str(result.bytes_written()),
            "total_rows_to_read": str(result.rows_read()), "result_rows": "0",
            "result_bytes": str(len(data)), "elapsed_ns": str(int((time.monotonic() - t0) * 1e9)),
        }
        self._send_body_whole(data, headers_for(summary), compress_native, encoding, level)
        LOG.info("query %.3fs %dB: %s", time.monotonic() - t0, len(data), sql[:200].replace("\n", " "))

    def _send_body_whole(self, data: bytes, headers: dict, compress_native: bool, encoding, level: int):
        if compress_native:
            data = native_compress(data)
        if encoding:
            feed, flush = http_encoder(encoding, level)
            data = feed(data) + flush()
        self._send(200, data, headers)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8123)
    ap.add_argument("--data", required=True, help="chdb data directory (persistent)")
    ap.add_argument("--spool-mb", type=int, default=64,
                    help="INSERT bodies up to this size are read before the engine lock is taken, so a slow "
                    "client does not block the others; larger ones are streamed under the lock")
    ap.add_argument("--log-level", default=os.environ.get("CHDB_SERVER_LOG", "info"))
    args = ap.parse_args()

    logging.basicConfig(
        level=getattr(logging, args.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    engine = Engine(os.path.abspath(args.data))
    Handler.engine = engine
    Handler.spool_bytes = max(1, args.spool_mb) << 20
    server = Server((args.host, args.port), Handler)
    LOG.info(
        "chdb %s (clickhouse %s) serving http://%s:%d data=%s cityhash=%s",
        getattr(chdb, "__version__", "?"), engine.version, args.host, args.port, engine.datadir,
        "yes" if CityHash128 else "no",
    )

    def stop(signum, _frame):
        LOG.info("signal %d: shutting down", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        engine.close()
        LOG.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
