#!/usr/bin/env python3
"""End-to-end checks of scripts/chdb_server.py over HTTP (stdlib client only).

Run against a started adapter:
    scripts/infra.sh start clickhouse
    "$AIRIS_CACHE/venv/bin/python" scripts/infra/test_chdb_server.py [port]
It creates and drops the table `default.adapter_test`.
"""
import gzip
import http.client
import os
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import chdb_server as cs  # noqa: E402
import lz4.block, zstandard
H = "127.0.0.1"
P = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("AIRIS_CLICKHOUSE_PORT", "8123"))

def req(method, path, body=None, headers=None, conn=None):
    c = conn or http.client.HTTPConnection(H, P, timeout=30)
    hd = headers or {}
    c.request(method, path, body=body, headers=hd, encode_chunked="Transfer-Encoding" in hd)
    r = c.getresponse()
    return r.status, dict(r.getheaders()), r.read(), c

def frame(raw, method):
    if method == 0x82: comp = lz4.block.compress(raw, store_size=False)
    elif method == 0x90: comp = zstandard.ZstdCompressor().compress(raw)
    else: comp = raw
    header = struct.pack("<BII", method, 9 + len(comp), len(raw))
    return cs.native_checksum(header + comp) + header + comp

ok = 0
def check(cond, what):
    global ok
    if not cond:
        print("FAIL", what)
        print(f"{ok} passed, 1 failed")
        sys.exit(1)
    ok += 1
    print("ok", what)

s, h, b, c = req("POST", "/", b"DROP TABLE IF EXISTS adapter_test")
s, h, b, c = req("POST", "/", b"CREATE TABLE adapter_test (a UInt64, s String) ENGINE=MergeTree ORDER BY a")
check(s == 200, "create")
# native framing, all three methods, several blocks in one body
data = b"".join(b"%d\trow%d\n" % (i, i) for i in range(30000))
parts = [data[:100000], data[100000:200000], data[200000:]]
body = frame(parts[0], 0x82) + frame(parts[1], 0x90) + frame(parts[2], 0x02)
s, h, b, c = req("POST", "/?query=INSERT+INTO+adapter_test(a,s)+FORMAT+TSV&decompress=1", body)
check(s == 200 and '"written_rows":"30000"' in h.get("X-ClickHouse-Summary", ""), f"insert decompress=1 lz4+zstd+none {s} {b[:200]}")
# corrupt checksum
bad = bytearray(frame(parts[0], 0x82)); bad[0] ^= 1
s, h, b, c2 = req("POST", "/?query=INSERT+INTO+adapter_test(a,s)+FORMAT+TSV&decompress=1", bytes(bad), conn=c)
check(s == 500 and h.get("X-ClickHouse-Exception-Code") == "40", f"bad checksum -> code 40 ({s}, {b[:120]})")
# keep-alive still works on the same connection after the error
s, h, b, _ = req("POST", "/", b"SELECT count() FROM adapter_test", conn=c)
check(s == 200 and b == b"30000\n", f"keep-alive after error: {b}")
# compress=1 response
s, h, b, _ = req("POST", "/?compress=1", b"SELECT a FROM adapter_test ORDER BY a LIMIT 5", conn=c)
d = cs.NativeDecompressor(); out = b"".join(d.feed(b)); d.finish()
check(out == b"0\n1\n2\n3\n4\n", f"compress=1 response decodes with checksum: {out}")
# gzip request body and gzip response
s, h, b, _ = req("POST", "/?enable_http_compression=1", gzip.compress(b"SELECT 'zipped'"), {"Content-Encoding": "gzip", "Accept-Encoding": "gzip"}, conn=c)
check(s == 200 and h.get("Content-Encoding") == "gzip" and gzip.decompress(b) == b"zipped\n", f"gzip both ways {h.get('Content-Encoding')}")
# no enable_http_compression: Accept-Encoding ignored (like ClickHouse's default)
s, h, b, _ = req("POST", "/", b"SELECT 1", {"Accept-Encoding": "lz4"}, conn=c)
check(s == 200 and "Content-Encoding" not in h and b == b"1\n", "accept-encoding ignored without enable_http_compression")
# GET with query
s, h, b, _ = req("GET", "/?query=SELECT%202", conn=c)
check(s == 200 and b == b"2\n", "GET query")
s, h, b, _ = req("GET", "/ping", conn=c); check(b == b"Ok.\n", "ping")
s, h, b, _ = req("GET", "/", conn=c); check(b == b"Ok.\n", "GET /")
s, h, b, _ = req("HEAD", "/ping", conn=c); check(s == 200, "HEAD ping")
# url query + body concatenation
s, h, b, _ = req("POST", "/?query=SELECT", b"3 + 4", conn=c); check(b == b"7\n", f"url query + body: {b}")
# insert with data inline in body
s, h, b, _ = req("POST", "/", b"INSERT INTO adapter_test FORMAT CSV\n99999,\"x\"\n", conn=c); check(s == 200, f"insert with data in body {b}")
# database param + default_format + settings
s, h, b, _ = req("POST", "/?database=system&default_format=JSONEachRow&max_result_rows=5&result_overflow_mode=break", b"SELECT currentDatabase() AS db", conn=c)
check(b == b'{"db":"system"}\n' and h.get("X-ClickHouse-Format") == "JSONEachRow", f"database/default_format: {b}")
s, h, b, _ = req("POST", "/", b"SELECT currentDatabase()", conn=c); check(b == b"default\n", "database reverted")
# FORMAT clause wins over default_format
s, h, b, _ = req("POST", "/?default_format=JSON", b"SELECT 1 AS x FORMAT CSVWithNames", conn=c)
check(b == b'"x"\n1\n' and h.get("X-ClickHouse-Format") == "CSVWithNames", f"FORMAT clause wins: {b}")
# server-side params in URL
s, h, b, _ = req("POST", "/?param_x=5&param_s=a%5Ctb", b"SELECT {x:UInt8} * 2, {s:String}", conn=c)
check(b == b"10\ta\\tb\n", f"url params: {b!r}")
# syntax error -> 400 (as ClickHouse maps SYNTAX_ERROR)
s, h, b, _ = req("POST", "/", b"SELEC 1", conn=c)
check(s == 400 and h["X-ClickHouse-Exception-Code"] == "62" and b.startswith(b"Code: 62. DB::Exception:"), f"syntax error {s}")
# large insert through the streaming-under-lock path and chunked encoding
def gen():
    for j in range(50):
        yield b"".join(b"%d\tbig\n" % (1000000 + j * 10000 + i) for i in range(10000))
s, h, b, _ = req("POST", "/?query=INSERT+INTO+adapter_test(a,s)+FORMAT+TSV", gen(), {"Transfer-Encoding": "chunked"})
check(s == 200 and '"written_rows":"500000"' in h["X-ClickHouse-Summary"], "chunked 500k-row insert")
# a slow open INSERT must not block other queries
def slow():
    def g():
        yield b"5000000\tslow\n"; time.sleep(3); yield b"5000001\tslow\n"
    st, hh, bb, _ = req("POST", "/?query=INSERT+INTO+adapter_test(a,s)+FORMAT+TSV", g(), {"Transfer-Encoding": "chunked"})
    results.append(st)
results = []
t = threading.Thread(target=slow); t.start(); time.sleep(0.5)
t0 = time.time(); s, h, b, _ = req("POST", "/", b"SELECT 1"); dt = time.time() - t0
check(s == 200 and dt < 1.0, f"query during slow insert took {dt:.3f}s")
t.join(); check(results == [200], "slow insert finished")
# bad data in insert: error, body drained, connection reusable
c = http.client.HTTPConnection(H, P, timeout=30)
s, h, b, c = req("POST", "/?query=INSERT+INTO+adapter_test(a,s)+FORMAT+TSV", b"notanumber\tx\n" * 1000, conn=c)
check(s in (400, 500) and h.get("X-ClickHouse-Exception-Code") == "27", f"bad insert data {s} {h.get('X-ClickHouse-Exception-Code')}")
s, h, b, _ = req("POST", "/", b"SELECT 1", conn=c); check(b == b"1\n", "connection reusable after insert error")
# client SET / USE do not leak into the next request
req("POST", "/", b"SET max_threads = 1"); req("POST", "/", b"USE system")
s, h, b, _ = req("POST", "/", b"SELECT getSetting('max_threads') != 1, currentDatabase()")
check(b == b"1\tdefault\n", f"SET/USE do not leak: {b}")
# multipart with query + params (as the Rust crate sends)
bd = "XyZb0und"
mp = (f"--{bd}\r\nContent-Disposition: form-data; name=\"query\"\r\n\r\nSELECT {{n:UInt32}} + 1, {{t:String}}\r\n"
      f"--{bd}\r\nContent-Disposition: form-data; name=\"param_n\"\r\n\r\n41\r\n"
      f"--{bd}\r\nContent-Disposition: form-data; name=\"param_t\"\r\n\r\nline1\\nline2\r\n--{bd}--\r\n").encode()
s, h, b, _ = req("POST", "/", mp, {"Content-Type": f"multipart/form-data; boundary={bd}"})
check(b == b"42\tline1\\nline2\n", f"multipart params {b!r}")
# TCP_NODELAY: many tiny queries on one connection are fast
c = http.client.HTTPConnection(H, P, timeout=30); t0 = time.time()
for _ in range(200): req("POST", "/", b"SELECT 1", conn=c)
per = (time.time() - t0) / 200 * 1000
check(per < 20, f"keep-alive small query latency {per:.2f} ms")
# client_protocol_version: Native as ClickHouse writes it for a client of that revision
q = b"SELECT number AS n, toLowCardinality(toString(number)) AS lc, [number] AS a FROM numbers(3) FORMAT Native"
s, h, plain, _ = req("POST", "/", q)
heads = [b"\x01n\x06UInt64", b"\x02lc\x16LowCardinality(String)", b"\x01a\x0dArray(UInt64)"]
flagged = plain
for head in heads:
    flagged = flagged.replace(head, head + b"\x00")
s, h, b, _ = req("POST", "/?client_protocol_version=54460", q)
check(s == 200 and b == cs.NATIVE_BLOCK_INFO + flagged, f"revision 54460: block info, custom-serialization flags {b[:40]!r}")
s, h, b, _ = req("POST", "/?client_protocol_version=54405&default_format=Native", q[:-len(b" FORMAT Native")])
check(s == 200 and b == cs.NATIVE_BLOCK_INFO + plain, f"revision 54405: block info only {b[:40]!r}")
s, h, b, _ = req("POST", "/?client_protocol_version=54000", q)
check(s == 501 and b"LowCardinality" in b, f"revision 54000 and LowCardinality: NOT_IMPLEMENTED ({s} {b[:120]!r})")
s, h, b, _ = req("POST", "/?client_protocol_version=54460", b"SELECT 1 FORMAT TSV")
check(b == b"1\n", "client_protocol_version leaves other formats alone")
s, h, b, _ = req("POST", "/?client_protocol_version=54460", b"SELECT quantileState(0.5)(number) FROM numbers(3) FORMAT Native")
check(s == 501 and h.get("X-ClickHouse-Exception-Code") == "48", f"a type it cannot walk: NOT_IMPLEMENTED ({s} {b[:120]!r})")
s, h, b, _ = req("POST", "/?client_protocol_version=x", q)
check(s == 400 and h.get("X-ClickHouse-Exception-Code") == "36", f"client_protocol_version=x: BAD_ARGUMENTS ({s})")
req("POST", "/", b"DROP TABLE IF EXISTS adapter_test")
print(f"{ok} passed, 0 failed")
