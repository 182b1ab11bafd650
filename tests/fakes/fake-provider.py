#!/usr/bin/env python3
"""A scripted fake LLM provider for the wf tests (Python 3 standard library only).

It listens on 127.0.0.1 and speaks the three wire protocols wf-model uses, with
the JSON shapes, headers and SSE/NDJSON framing of the real APIs:

  POST .../chat/completions   OpenAI chat completions (and compatible servers)
  POST .../v1/messages        Anthropic messages
  POST /api/chat              Ollama native chat

Usage:
  fake-provider.py --script SCRIPT.json --log REQUESTS.jsonl --port-file PORTFILE
                   [--port N] [--tls-cert CERT --tls-key KEY] [--cache]

The port is written to PORTFILE (atomically, once listening), so a test never
races the server.  Every request is appended to the log as one JSON line:
{"n","method","path","protocol","model","stream","headers":{lower-case: value},
"body": parsed JSON or text, "conn"} -- the auth header value included, so
tests can check which key went where.  "conn" numbers the connection the
request came on (1, 2, ... in the order they were accepted), so that the
number of distinct values is the number of connections a client opened.

The script is a JSON list of entries (or {"responses":[...], "default":{...}}).
Each request takes the first entry whose "match" fits (default: any); an entry
is used "repeat" times (default 1; -1 forever).  When none is left the
"default" entry answers, or a 500 "script exhausted".  Entry fields:

  match        {"model": M, "protocol": openai|anthropic|ollama,
                "path": P, "prompt_contains": S}
  text         reply text; "{model}", "{prompt}" (last user message),
               "{system}" and "{n}" are filled in.  Default "fake reply from {model}".
  chunks       the streamed deltas (default: the text split at word starts)
  usage        {"input": N, "output": N, "cached": N, "cache_write": N}, or null
               for none at all; "input" is the whole prompt, "cached" the part
               read from the cache and "cache_write" (Anthropic) the part
               written to it
  usage_style  OpenAI streams: "final" (a last chunk with choices [] when
               stream_options.include_usage is asked for; the default),
               "null_choices" (that chunk has choices null), "finish"
               (usage in the finish chunk, as llama.cpp does), "none"
  stream_mode  "events" (one write per event, default), "bytes" (one byte per
               write), "together" (the whole stream in one write), "random"
  crlf         true: SSE lines end in CRLF
  comments     true: ": keep-alive" comment lines between events (Anthropic
               also gets "ping" events)
  multiline    true: OpenAI chunks split over two "data:" lines
  drip         seconds between writes
  stall        seconds of silence after the headers and the first event
  stall_at     stall after this write instead of the first (0-based)
  delay        seconds before answering at all
  wait_requests N: hold the answer until the fake has received N requests in
               all (this one included), so that N calls are in flight at
               once; short of them after wait_timeout seconds (default 30),
               a 500 "wait_requests: only K of N requests came"
  hold_open    seconds to keep the connection open after the end marker
  truncate     "clean" (end the body without the end marker) or "abrupt"
               (close the socket mid-body); true means "clean"
  mid_error    after the first delta, a protocol error event: "overloaded",
               "server", or a message
  invalid_json true: an unparseable body / data line
  status       an HTTP error status with the provider's own error body; with
  error_type, error_code, message  to shape it, or "body" (JSON) / "body_text"
  error        shortcut: rate_limit, overloaded, server, auth, forbidden,
               not_found, quota, spend_limit, bad_request, context_length
  headers      extra response headers; retry_after / retry_after_ms set
               Retry-After / Retry-After-Ms
  html         true: a 502 HTML page
  huge         N: a 200 response of about N bytes
  echo_key     true: a 400 whose message quotes the request's credential
  redirect     URL: a 302 to it

Without "usage" an answer counts words: the input is every word of the
system text and the messages (text parts of content lists too; tools are not
counted), the output one per chunk.

Prompt caching: --cache on the command line, or "cache": true or
{"min_tokens": N, "increment": N} in the object form of the script, makes
the fake remember prompts and report counted usage as each provider does
(cached counts are words, like everything else):
  anthropic  only up to a block marked with cache_control (at most 4 marks;
             the system text, a content part or a tool).  Every marked prefix
             of at least min_tokens (default 1024) is written; a request reads
             the longest cached prefix ending at a mark or at one of the 20
             blocks before it, as Anthropic looks back.  input_tokens is then
             the rest, cache_creation_input_tokens what was written past the
             read part, cache_read_input_tokens what was read.
  openai     automatically: the longest prefix (in words, role by role) shared
             with an earlier request to the same model, when at least
             min_tokens, rounded down to min_tokens plus a multiple of
             increment (default 128), as OpenAI documents; reported as
             prompt_tokens_details.cached_tokens inside prompt_tokens.
  ollama     the prefix shared with the previous request to the same model
             (one KV cache slot, no minimum), as prompt_eval_cached_count
             inside prompt_eval_count.
Cache memory lives as long as the process; a script reload keeps it.

Control: GET /_fake/requests returns the log as a JSON array; POST
/_fake/script replaces the script.
"""

import argparse
import json
import os
import random
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
ARRIVED = threading.Condition(LOCK)
STATE = {"entries": [], "default": None, "n": 0, "conns": 0, "log": None, "requests": [], "cache": None,
         "cache_flag": None, "cached": set(), "seen": {}}


def load_script(doc):
    cache = STATE["cache_flag"]
    if isinstance(doc, list):
        entries, default = doc, None
    elif isinstance(doc, dict):
        entries, default = doc.get("responses", []), doc.get("default")
        cache = doc.get("cache", cache)
    else:
        raise ValueError("script must be a list or an object")
    if cache is True:
        cache = {}
    STATE["cache"] = dict({"min_tokens": 1024, "increment": 128}, **cache) if isinstance(cache, dict) else None
    for e in entries:
        e.setdefault("repeat", 1)
        e["_used"] = 0
    STATE["entries"] = entries
    STATE["default"] = default


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def protocol_of(path):
    p = path.split("?", 1)[0].rstrip("/")
    if p.endswith("/chat/completions"):
        return "openai"
    if p.endswith("/v1/messages") or p.endswith("/messages"):
        return "anthropic"
    if p.endswith("/api/chat"):
        return "ollama"
    return None


def last_user(body):
    msgs = body.get("messages") if isinstance(body, dict) else None
    text = ""
    if isinstance(msgs, list):
        for m in msgs:
            if isinstance(m, dict) and m.get("role") == "user":
                c = m.get("content")
                if isinstance(c, list):
                    c = "".join(p.get("text", "") for p in c if isinstance(p, dict))
                text = c if isinstance(c, str) else ""
    return text


def system_of(body, proto):
    if not isinstance(body, dict):
        return ""
    if proto == "anthropic":
        s = body.get("system", "")
        if isinstance(s, list):
            return "".join(p.get("text", "") for p in s if isinstance(p, dict))
        return s if isinstance(s, str) else ""
    for m in body.get("messages") or []:
        if isinstance(m, dict) and m.get("role") in ("system", "developer"):
            return m.get("content", "")
    return ""


def text_words(c):
    """The words of a content value: a string or a list of parts with "text"."""
    if isinstance(c, list):
        return sum(len(str(p.get("text", "")).split()) for p in c if isinstance(p, dict))
    return len(str(c if c is not None else "").split())


def prompt_blocks(body, proto):
    """The prompt as cacheable blocks, in order: (identity, words, marked)."""
    out = []

    def part(role, p):
        if isinstance(p, str):
            p = {"type": "text", "text": p}   # a string is one text block
        if isinstance(p, dict):
            ident = compact([role, {k: v for k, v in p.items() if k != "cache_control"}])
            out.append((ident, text_words([p]), "cache_control" in p))
        else:
            out.append((compact([role, p]), text_words(p), False))

    if proto == "anthropic":
        for t in body.get("tools") or []:
            if isinstance(t, dict):
                out.append((compact(["tool", {k: v for k, v in t.items() if k != "cache_control"}]), 0,
                            "cache_control" in t))
        sysv = body.get("system")
        for p in (sysv if isinstance(sysv, list) else [sysv] if isinstance(sysv, str) else []):
            part("system", p)
    for m in body.get("messages") or []:
        if not isinstance(m, dict):
            continue
        c = m.get("content", "")
        for p in (c if isinstance(c, list) else [c]):
            part(m.get("role"), p)
    return out


def counted_input(body, proto):
    return sum(w for _, w, _ in prompt_blocks(body, proto))


def cache_usage(body, proto, model):
    """(cached, cache_write) for this request, remembering what it leaves in the cache."""
    cfg = STATE["cache"]
    blocks = prompt_blocks(body, proto)
    if proto == "anthropic":
        cum, keys, total = [], [], 0
        for k, (ident, w, _) in enumerate(blocks):
            total += w
            cum.append(total)
            keys.append(compact([model] + [b[0] for b in blocks[:k + 1]]))
        marks = [k for k, b in enumerate(blocks) if b[2]][:4]
        read = -1
        with LOCK:
            for bp in marks:
                for j in range(bp, max(bp - 20, -1), -1):
                    if keys[j] in STATE["cached"]:
                        read = max(read, j)
                        break
            wrote = 0
            for bp in marks:
                if cum[bp] >= cfg["min_tokens"] and bp > read:
                    STATE["cached"].add(keys[bp])
                    wrote = max(wrote, cum[bp] - (cum[read] if read >= 0 else 0))
        return (cum[read] if read >= 0 else 0), wrote
    seq = []
    for m in body.get("messages") or []:
        if isinstance(m, dict):
            c = m.get("content", "")
            words = (" ".join(str(p.get("text", "")) for p in c if isinstance(p, dict))
                     if isinstance(c, list) else str(c)).split()
            seq.extend(str(m.get("role")) + "\0" + x for x in words)
    with LOCK:
        seen = STATE["seen"].setdefault((proto, model), [])
        earlier = seen[-1:] if proto == "ollama" else seen
        best = 0
        for old in earlier:
            k = 0
            while k < len(old) and k < len(seq) and old[k] == seq[k]:
                k += 1
            best = max(best, k)
        seen.append(seq)
    if proto == "ollama":
        return best, 0
    lo, inc = cfg["min_tokens"], max(cfg["increment"], 1)
    return (0 if best < lo else lo + (best - lo) // inc * inc), 0


def matches(entry, proto, path, body):
    m = entry.get("match") or {}
    if "protocol" in m and m["protocol"] != proto:
        return False
    if "path" in m and m["path"] != path:
        return False
    if "model" in m and (not isinstance(body, dict) or body.get("model") != m["model"]):
        return False
    if "prompt_contains" in m and m["prompt_contains"] not in last_user(body):
        return False
    return True


def pick(proto, path, body):
    with LOCK:
        for e in STATE["entries"]:
            if e["repeat"] >= 0 and e["_used"] >= e["repeat"]:
                continue
            if matches(e, proto, path, body):
                e["_used"] += 1
                return e
        return STATE["default"]


ERRORS = {
    # name: (status, openai (type, code), anthropic type, message)
    "rate_limit": (429, ("requests", "rate_limit_exceeded"), "rate_limit_error",
                   "Rate limit reached for requests"),
    "overloaded": (529, ("server_error", "overloaded"), "overloaded_error", "Overloaded"),
    "server": (500, ("server_error", None), "api_error", "Internal server error"),
    "auth": (401, ("invalid_request_error", "invalid_api_key"), "authentication_error",
             "invalid x-api-key"),
    "forbidden": (403, ("invalid_request_error", "permission_denied"), "permission_error",
                  "Your API key does not have permission to use the specified resource."),
    "not_found": (404, ("invalid_request_error", "model_not_found"), "not_found_error",
                  "The model {model} does not exist or you do not have access to it."),
    "quota": (429, ("insufficient_quota", "insufficient_quota"), "rate_limit_error",
              "You exceeded your current quota, please check your plan and billing details."),
    "spend_limit": (429, ("insufficient_quota", "insufficient_quota"), "rate_limit_error",
                    "You have reached your specified workspace API usage limits."),
    "bad_request": (400, ("invalid_request_error", None), "invalid_request_error",
                    "Invalid request"),
    "context_length": (400, ("invalid_request_error", "context_length_exceeded"),
                       "invalid_request_error",
                       "This model's maximum context length is 8192 tokens."),
}


def error_body(proto, status, etype, code, message, n, spend=False):
    if proto == "anthropic":
        err = {"type": etype or "api_error", "message": message}
        if spend:
            err["details"] = {"error_code": "enforced_spend_limit_reached"}
        return {"type": "error", "error": err, "request_id": "req_fake_%d" % n}
    if proto == "ollama":
        return {"error": message}
    return {"error": {"message": message, "type": etype or "server_error", "param": None,
                      "code": code}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-provider/1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        with LOCK:
            STATE["conns"] += 1
            self.conn_n = STATE["conns"]
        # Small writes must leave as written, so "bytes" mode really splits events.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    # ---- plumbing -------------------------------------------------------

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return raw, json.loads(raw.decode("utf-8")) if raw else None
        except (ValueError, UnicodeDecodeError):
            return raw, raw.decode("utf-8", "replace")

    def record(self, proto, body):
        with LOCK:
            STATE["n"] += 1
            n = STATE["n"]
            rec = {
                "n": n, "method": self.command, "path": self.path, "protocol": proto,
                "model": body.get("model") if isinstance(body, dict) else None,
                "stream": body.get("stream") if isinstance(body, dict) else None,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body, "time": time.time(), "conn": self.conn_n,
            }
            STATE["requests"].append(rec)
            if STATE["log"]:
                with open(STATE["log"], "a", encoding="utf-8") as f:
                    f.write(compact(rec) + "\n")
            ARRIVED.notify_all()
        return n

    def send_json(self, status, obj, extra=None, raw=None, ctype="application/json"):
        data = raw if raw is not None else compact(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def start_chunked(self, ctype, extra):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        for k, v in (extra or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.flush()

    def chunk(self, data):
        if not data:
            return
        self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
        self.wfile.flush()

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def abort(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ---- routes ---------------------------------------------------------

    def do_GET(self):
        if self.path.startswith("/_fake/requests"):
            with LOCK:
                reqs = list(STATE["requests"])
            self.send_json(200, reqs)
            return
        proto = "ollama" if self.path.startswith("/api/") else "openai"
        self.record(proto, None)
        if self.path.startswith("/api/tags"):
            self.send_json(200, {"models": []})
        elif self.path.rstrip("/").endswith("/models"):
            self.send_json(200, {"object": "list", "data": []})
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self):
        raw, body = self.read_body()
        if self.path.startswith("/_fake/script"):
            with LOCK:
                load_script(body)
            self.send_json(200, {"ok": True})
            return
        proto = protocol_of(self.path)
        n = self.record(proto, body)
        if proto is None:
            self.send_json(404, {"error": {"message": "no such endpoint: " + self.path}})
            return
        entry = pick(proto, self.path, body)
        if entry is None:
            self.send_json(500, error_body(proto, 500, "api_error", None,
                                           "fake provider: script exhausted", n))
            return
        try:
            self.answer(proto, n, body if isinstance(body, dict) else {}, entry)
        except (BrokenPipeError, ConnectionResetError, socket.timeout, ssl.SSLError):
            self.close_connection = True

    # ---- one answer -----------------------------------------------------

    def answer(self, proto, n, body, e):
        model = body.get("model", "unknown")
        rid_header = "request-id" if proto == "anthropic" else "x-request-id"
        headers = {rid_header: "req_fake_%d" % n}
        headers.update(e.get("headers") or {})
        if "retry_after" in e:
            headers["Retry-After"] = e["retry_after"]
        if "retry_after_ms" in e:
            headers["Retry-After-Ms"] = e["retry_after_ms"]
        if e.get("delay"):
            time.sleep(float(e["delay"]))
        if e.get("wait_requests"):
            want = int(e["wait_requests"])
            with ARRIVED:
                ARRIVED.wait_for(lambda: STATE["n"] >= want, timeout=float(e.get("wait_timeout", 30)))
                got = STATE["n"]
            if got < want:
                self.send_json(500, {"error": {"message": "wait_requests: only %d of %d requests came" % (got, want)}})
                return

        if e.get("redirect"):
            self.send_json(302, {"moved": e["redirect"]}, dict(headers, Location=e["redirect"]))
            return
        if e.get("html"):
            page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
            self.send_json(502, None, headers, raw=page, ctype="text/html")
            return
        if e.get("echo_key"):
            cred = self.headers.get("x-api-key") or self.headers.get("Authorization") or ""
            cred = cred[7:] if cred.startswith("Bearer ") else cred
            msg = "Incorrect API key provided: %s. You can find your API key at the dashboard." % cred
            self.send_json(400, error_body(proto, 400, "invalid_request_error", "invalid_api_key", msg, n),
                           headers)
            return
        if "error" in e or "status" in e:
            name = e.get("error")
            status, (otype, ocode), atype, msg = ERRORS.get(name, (500, ("server_error", None), "api_error",
                                                                  "error"))
            status = int(e.get("status", status))
            if name == "overloaded" and proto != "anthropic" and "status" not in e:
                status = 503
            msg = e.get("message", msg).replace("{model}", str(model))
            etype = e.get("error_type", atype if proto == "anthropic" else otype)
            code = e.get("error_code", ocode)
            if "body_text" in e:
                self.send_json(status, None, headers, raw=e["body_text"].encode("utf-8"), ctype="text/plain")
            elif "body" in e:
                self.send_json(status, e["body"], headers)
            else:
                self.send_json(status, error_body(proto, status, etype, code, msg, n,
                                                  spend=(name == "spend_limit")), headers)
            return
        if e.get("huge"):
            self.huge(proto, int(e["huge"]), body, headers)
            return

        text = e.get("text", "fake reply from {model}")
        text = (text.replace("{model}", str(model)).replace("{prompt}", last_user(body))
                .replace("{system}", system_of(body, proto)).replace("{n}", str(n)))
        chunks = e.get("chunks")
        if chunks is None:
            chunks = split_words(text)
        usage = e.get("usage", "auto")
        if usage == "auto":
            usage = {"input": max(counted_input(body, proto), 1), "output": max(len(chunks), 1), "cached": 0}
            if STATE["cache"] is not None:
                usage["cached"], usage["cache_write"] = cache_usage(body, proto, model)
        stream = body.get("stream", proto == "ollama")
        if not stream:
            self.whole(proto, n, model, text, usage, e, headers)
        else:
            self.stream(proto, n, model, chunks, usage, e, body, headers)

    def whole(self, proto, n, model, text, usage, e, headers):
        if e.get("invalid_json"):
            self.send_json(200, None, headers, raw=b'{"id": "broken", "choices": [')
            return
        u = usage or {}
        i, o, c = u.get("input", 0), u.get("output", 0), u.get("cached", 0)
        if proto == "openai":
            doc = {"id": "chatcmpl-fake%d" % n, "object": "chat.completion", "created": 1700000000,
                   "model": model, "system_fingerprint": "fp_fake",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": text,
                                                        "refusal": None},
                                "logprobs": None, "finish_reason": "stop"}]}
            if usage is not None:
                doc["usage"] = {"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o,
                                "prompt_tokens_details": {"cached_tokens": c},
                                "completion_tokens_details": {"reasoning_tokens": 0}}
        elif proto == "anthropic":
            doc = {"id": "msg_fake%d" % n, "type": "message", "role": "assistant", "model": model,
                   "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                   "stop_sequence": None}
            if usage is not None:
                w = u.get("cache_write", 0)
                doc["usage"] = {"input_tokens": i - c - w, "cache_creation_input_tokens": w,
                                "cache_read_input_tokens": c, "output_tokens": o}
        else:
            doc = {"model": model, "created_at": "2026-11-24T09:46:24.120Z",
                   "message": {"role": "assistant", "content": text}, "done_reason": "stop",
                   "done": True, "total_duration": 4883583458, "load_duration": 1334875}
            if usage is not None:
                doc.update({"prompt_eval_count": i, "prompt_eval_duration": 342546000,
                            "eval_count": o, "eval_duration": 4535599000})
                if c:
                    doc["prompt_eval_cached_count"] = c
        self.send_json(200, doc, headers)

    def huge(self, proto, size, body, headers):
        """A 200 answer of about SIZE bytes, streamed in 64 KiB pieces."""
        stream = body.get("stream", proto == "ollama")
        piece = "x" * 65536
        if not stream:
            head = b'{"id":"chatcmpl-huge","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"'
            tail = b'"},"finish_reason":"stop"}]}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(head) + size + len(tail)))
            for k, v in headers.items():
                self.send_header(k, str(v))
            self.end_headers()
            self.wfile.write(head)
            left = size
            while left > 0:
                k = min(left, len(piece))
                self.wfile.write(piece[:k].encode())
                left -= k
            self.wfile.write(tail)
            self.wfile.flush()
            return
        self.start_chunked("text/event-stream", headers)
        sent = 0
        while sent < size:
            if proto == "openai":
                ev = "data: " + compact({"choices": [{"index": 0, "delta": {"content": piece}}]}) + "\n\n"
            elif proto == "anthropic":
                ev = "event: content_block_delta\ndata: " + compact(
                    {"type": "content_block_delta", "index": 0,
                     "delta": {"type": "text_delta", "text": piece}}) + "\n\n"
            else:
                ev = compact({"message": {"role": "assistant", "content": piece}, "done": False}) + "\n"
            data = ev.encode()
            self.chunk(data)
            sent += len(data)
        self.end_chunked()

    # ---- streams ----------------------------------------------------------

    def events(self, proto, n, model, chunks, usage, e, body):
        """The stream as a list of encoded events (bytes), plus the end marker's index."""
        u = usage or {}
        i, o, c = u.get("input", 0), u.get("output", 0), u.get("cached", 0)
        nl = "\r\n" if e.get("crlf") else "\n"
        out = []

        def sse(obj, event=None):
            if e.get("multiline") and proto == "openai" and isinstance(obj, dict):
                # Two data: lines; the reader joins them with a newline, which JSON allows.
                s = compact(obj)
                cut = s.index(",") + 1
                lines = "data: " + s[:cut] + nl + "data: " + s[cut:] + nl
            else:
                lines = "data: " + (obj if isinstance(obj, str) else compact(obj)) + nl
            if event:
                lines = "event: " + event + nl + lines
            return (lines + nl).encode("utf-8")

        comment = (": keep-alive" + nl + nl).encode()
        if proto == "openai":
            want_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            style = e.get("usage_style", "final")
            base = {"id": "chatcmpl-fake%d" % n, "object": "chat.completion.chunk",
                    "created": 1700000000, "model": model, "system_fingerprint": "fp_fake"}
            ud = {"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o,
                  "prompt_tokens_details": {"cached_tokens": c}}

            def ch(delta, finish=None, usage_val="omit"):
                d = dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None,
                                         "finish_reason": finish}])
                if want_usage and style in ("final", "null_choices"):
                    d["usage"] = None
                if usage_val != "omit":
                    d["usage"] = usage_val
                return d

            out.append(sse(ch({"role": "assistant", "content": "", "refusal": None})))
            for k, t in enumerate(chunks):
                if e.get("comments"):
                    out.append(comment)
                out.append(sse(ch({"content": t})))
                if k == 0 and e.get("mid_error"):
                    out.append(sse({"error": mid_error_obj(proto, e["mid_error"])}))
                    return out, None
                if k == 0 and e.get("invalid_json"):
                    out.append(("data: {\"choices\": [" + nl + nl).encode())
            if usage is not None and style == "finish":
                out.append(sse(ch({}, "stop", ud)))
            else:
                out.append(sse(ch({}, "stop")))
            if usage is not None and want_usage and style == "final":
                out.append(sse(dict(base, choices=[], usage=ud)))
            elif usage is not None and want_usage and style == "null_choices":
                out.append(sse(dict(base, choices=None, usage=ud)))
            end = len(out)
            out.append(sse("[DONE]"))
            return out, end
        if proto == "anthropic":
            w = u.get("cache_write", 0)
            mu = {"input_tokens": i - c - w, "cache_creation_input_tokens": w, "cache_read_input_tokens": c,
                  "output_tokens": 1}
            start = {"type": "message_start",
                     "message": {"id": "msg_fake%d" % n, "type": "message", "role": "assistant",
                                 "content": [], "model": model, "stop_reason": None,
                                 "stop_sequence": None}}
            if usage is not None:
                start["message"]["usage"] = mu
            out.append(sse(start, "message_start"))
            out.append(sse({"type": "content_block_start", "index": 0,
                            "content_block": {"type": "text", "text": ""}}, "content_block_start"))
            out.append(sse({"type": "ping"}, "ping"))
            for k, t in enumerate(chunks):
                if e.get("comments"):
                    out.append(sse({"type": "ping"}, "ping"))
                    out.append(comment)
                out.append(sse({"type": "content_block_delta", "index": 0,
                                "delta": {"type": "text_delta", "text": t}}, "content_block_delta"))
                if k == 0 and e.get("mid_error"):
                    out.append(sse(dict(type="error", error=mid_error_obj(proto, e["mid_error"])), "error"))
                    return out, None
                if k == 0 and e.get("invalid_json"):
                    out.append(("event: content_block_delta" + nl + "data: {\"type\": " + nl + nl).encode())
            out.append(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
            md = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}}
            if usage is not None:
                md["usage"] = {"output_tokens": o}
            out.append(sse(md, "message_delta"))
            end = len(out)
            out.append(sse({"type": "message_stop"}, "message_stop"))
            return out, end
        # Ollama: NDJSON, one object per line.
        for k, t in enumerate(chunks):
            out.append((compact({"model": model, "created_at": "2026-11-24T09:46:24.120Z",
                                 "message": {"role": "assistant", "content": t}, "done": False})
                        + "\n").encode())
            if k == 0 and e.get("mid_error"):
                out.append((compact({"error": mid_error_obj(proto, e["mid_error"])}) + "\n").encode())
                return out, None
            if k == 0 and e.get("invalid_json"):
                out.append(b'{"model": "broken\n')
        final = {"model": model, "created_at": "2026-11-24T09:46:25.120Z",
                 "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop",
                 "total_duration": 4883583458, "load_duration": 1334875}
        if usage is not None:
            final.update({"prompt_eval_count": i, "prompt_eval_duration": 342546000, "eval_count": o,
                          "eval_duration": 4535599000})
            if c:
                final["prompt_eval_cached_count"] = c
        end = len(out)
        out.append((compact(final) + "\n").encode())
        return out, end

    def stream(self, proto, n, model, chunks, usage, e, body, headers):
        evs, end = self.events(proto, n, model, chunks, usage, e, body)
        trunc = e.get("truncate")
        if trunc is True:
            trunc = "clean"
        if trunc and end is not None:
            evs = evs[:end]
        ctype = {"openai": "text/event-stream; charset=utf-8", "anthropic": "text/event-stream; charset=utf-8",
                 "ollama": "application/x-ndjson"}[proto]
        self.start_chunked(ctype, headers)
        mode = e.get("stream_mode", "events")
        drip = float(e.get("drip", 0))
        stall = float(e.get("stall", 0))
        stall_at = int(e.get("stall_at", 0))
        if mode == "together":
            writes = [b"".join(evs)]
        elif mode == "bytes":
            writes = [bytes([b]) for ev in evs for b in ev]
        elif mode == "random":
            blob, writes, rnd, k = b"".join(evs), [], random.Random(n), 0
            while k < len(blob):
                step = rnd.randint(1, 23)
                writes.append(blob[k:k + step])
                k += step
        else:
            writes = evs
        for k, w in enumerate(writes):
            self.chunk(w)
            if k == stall_at and stall:
                time.sleep(stall)
            if drip:
                time.sleep(drip)
        if trunc == "abrupt":
            self.abort()
            return
        if e.get("hold_open"):
            time.sleep(float(e["hold_open"]))
        self.end_chunked()


def mid_error_obj(proto, what):
    if proto == "ollama":
        # Ollama's mid-stream error is a line holding only {"error": "text"}.
        return {"overloaded": "server overloaded, please retry shortly",
                "server": "an internal error occurred"}.get(what, what)
    if what == "overloaded":
        return {"type": "overloaded_error", "message": "Overloaded"} if proto != "openai" else \
            {"message": "The server is overloaded", "type": "server_error", "code": "overloaded"}
    if what == "server":
        return {"type": "api_error", "message": "Internal server error"}
    return {"type": "invalid_request_error", "message": what}


def split_words(text):
    """Split TEXT before each space, keeping the spaces: "a b" -> ["a", " b"]."""
    out, cur = [], ""
    for ch in text:
        if ch == " " and cur.strip():
            out.append(cur)
            cur = ""
        cur += ch
    if cur:
        out.append(cur)
    return out or [""]


def main():
    ap = argparse.ArgumentParser(description="scripted fake LLM provider")
    ap.add_argument("--script")
    ap.add_argument("--log")
    ap.add_argument("--port-file")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--cache", action="store_true", help="simulate each provider's prompt cache")
    a = ap.parse_args()
    if a.cache:
        STATE["cache_flag"] = True
        STATE["cache"] = {"min_tokens": 1024, "increment": 128}
    if a.script:
        with open(a.script, encoding="utf-8") as f:
            load_script(json.load(f))
    STATE["log"] = a.log
    if a.log:
        open(a.log, "a").close()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, a.port_file)
    else:
        print(port, flush=True)
    try:
        srv.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
