#!/usr/bin/env python3
"""A deterministic OpenAI-shaped server for tests/integration/test_ai.sh:
GET /v1/models lists MODELS; POST /v1/chat/completions answers a model it
holds with "NAME: MODEL" (so the test sees which box answered) and 404 in
the OpenAI error shape otherwise. Loopback only.

    ai_server.py PORT NAME MODEL...
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, NAME, MODELS = int(sys.argv[1]), sys.argv[2], sys.argv[3:]


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16   # the headers and the body in one write (no Nagle/delayed-ACK stall)

    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/v1/models":
            self.reply(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": NAME} for m in MODELS]})
        else:
            self.reply(404, {"error": {"message": "no such path", "type": "invalid_request_error",
                                       "code": None}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            req = json.loads(self.rfile.read(n) or b"{}")
        except ValueError:
            req = {}
        model = req.get("model")
        if self.path != "/v1/chat/completions" or model not in MODELS:
            self.reply(404, {"error": {"message": "%s: not here" % NAME, "type": "invalid_request_error",
                                       "code": "model_not_found"}})
            return
        self.reply(200, {
            "id": "chatcmpl-%s" % NAME, "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "%s: %s" % (NAME, model)}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
