"""A learning record store on loopback for the tests: a real HTTP server in a thread.

It keeps statements by id as xAPI 1.0.3 says (POST a batch, PUT one by its id; an id it
already holds is refused with 409 and changes nothing), checks the version header and
basic authentication, and can be told to fail (500), to hang past the client's time-out
before storing, to refuse some ids (400), and to come back.
"""

import base64
import json
import threading
import time
from collections import Counter

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

USERNAME, PASSWORD = "lrs-user", "lrs secret"


class LocalStore:
    """A learning record store serving /xapi/statements on a free loopback port."""

    def __init__(self):
        self.statements = {}  # id -> statement, as stored
        self.stored = Counter()  # id -> times stored
        self.received = []  # (method, [ids]) of every request, in order
        self.failing = False
        self.hang_s = 0.0  # sleep this long, then store, as a slow store that did keep them
        self.delay_s = 0.0
        self.refused = set()  # ids answered with 400
        self.lock = threading.Lock()
        self.busy = 0
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self):
        """Return the xAPI endpoint's address."""
        return f"http://127.0.0.1:{self.server.server_port}/xapi"

    def config(self, timeout=0.5):
        """Return the app settings that point at this store."""
        return {
            "XAPI_ENDPOINT": self.endpoint,
            "XAPI_USERNAME": USERNAME,
            "XAPI_PASSWORD": PASSWORD,
            "XAPI_TIMEOUT": timeout,
        }

    def start(self):
        """Start serving in a thread."""
        self.thread.start()
        return self

    def stop(self):
        """Stop serving, once requests in flight are done."""
        self.settle()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def settle(self, limit_s=10):
        """Wait until no request is being handled (a hanging one has stored its batch)."""
        ends = time.monotonic() + limit_s
        while self.busy and time.monotonic() < ends:
            time.sleep(0.02)

    def wsgi(self, environ, start_response):
        """Answer one request."""
        with self.lock:
            self.busy += 1
        try:
            return self.answer(Request(environ))(environ, start_response)
        finally:
            with self.lock:
                self.busy -= 1

    def answer(self, request):
        """Return the response to one request to the Statements resource."""
        if request.path != "/xapi/statements":
            return Response(status=404)
        if request.headers.get("X-Experience-API-Version") != "1.0.3":
            return Response("version header missing", status=400)
        expected = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return Response(status=401)
        body = json.loads(request.get_data(as_text=True))
        batch = body if isinstance(body, list) else [body]
        with self.lock:
            self.received.append((request.method, [s["id"] for s in batch]))
        time.sleep(self.delay_s)
        if self.failing:
            return Response("store unavailable", status=500)
        if self.hang_s:
            time.sleep(self.hang_s)
        if request.method == "PUT":
            return self.put(request.args.get("statementId"), body)
        if request.method == "POST":
            return self.post(batch)
        return Response(status=405)

    def post(self, batch):
        """Store a batch whole, or refuse it whole (an id held already, or refused)."""
        with self.lock:
            if any(s["id"] in self.refused for s in batch):
                return Response("a statement is not valid", status=400)
            if any(s["id"] in self.statements for s in batch):
                return Response("a statement id is already stored", status=409)
            for statement in batch:
                self.keep(statement)
        ids = json.dumps([s["id"] for s in batch])
        return Response(ids, status=200, content_type="application/json")

    def put(self, statement_id, statement):
        """Store one statement under its id, unless held already or refused."""
        with self.lock:
            if statement_id != statement.get("id") or statement_id in self.refused:
                return Response("not valid", status=400)
            if statement_id in self.statements:
                return Response("already stored", status=409)
            self.keep(statement)
        return Response(status=204)

    def keep(self, statement):
        """Store a statement (the lock is held)."""
        self.statements[statement["id"]] = statement
        self.stored[statement["id"]] += 1

    def posted_ids(self):
        """Return every id sent in a POST, in order, repeats included."""
        return [i for method, ids in self.received if method == "POST" for i in ids]
