"""A webhook receiver for vinpath's tests, checking every delivery with the
reference Standard Webhooks library (`standardwebhooks` from PyPI): a
receiver written by others, not vinpath's own code.

Each endpoint is a path whose first part says how it answers:
  /ok/...       200
  /failN/...    500 to the first N attempts of each delivery, then 200
  /gone/...     410
  /slow/...     200 after 5 s
  /switch/...   500 until told otherwise (POST /_mode/<rest> "ok")
Control: POST /_secret/<rest> with the endpoint's secret as the body;
GET /_log lists the deliveries accepted, in the order they arrived, and
GET /_attempts how many attempts each (path, webhook-id) got.
Prints its port on the first line of stdout.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

lock = threading.Lock()
secrets = {}
modes = {}
attempts = {}
log = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            if self.path == "/_log":
                data = log
            elif self.path == "/_attempts":
                data = [{"path": p, "id": i, "n": n} for (p, i), n in attempts.items()]
            else:
                return self.reply(404)
            self.reply(200, json.dumps(data).encode())

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        for control, table in (("/_secret/", secrets), ("/_mode/", modes)):
            if self.path.startswith(control):
                with lock:
                    table["/" + self.path[len(control):]] = body.decode()
                return self.reply(204)
        path = self.path
        headers = {k.lower(): v for k, v in self.headers.items()}
        msg_id = headers.get("webhook-id", "")
        with lock:
            secret = secrets.get(path)
            n = attempts.get((path, msg_id), 0) + 1
            attempts[(path, msg_id)] = n
            mode = modes.get(path, "")
        try:
            Webhook(secret).verify(body, headers)
            verified = True
        except Exception as e:  # the library's own verdict
            verified = "%s: %s" % (type(e).__name__, e)
        kind = path.strip("/").split("/")[0]
        if kind.startswith("fail") and n <= int(kind[4:] or "3"):
            return self.reply(500)
        if kind == "gone":
            return self.reply(410)
        if kind == "switch" and mode != "ok":
            return self.reply(500)
        if kind == "slow":
            time.sleep(5)
        with lock:
            log.append({"path": path, "id": msg_id, "verified": verified,
                        "attempt": n, "body": json.loads(body)})
        self.reply(200)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_port, flush=True)
server.serve_forever()
