"""The client of a learning record store: delivers xAPI statements over HTTP.

Statements go to `<SIMULATOR_XAPI_ENDPOINT>/statements` with xAPI 1.0.3's version header
and basic authentication, a batch in one POST. A store that refuses the batch as a whole
(400, 409, 413) is sent its statements one by one with PUT, so that a statement it already
holds (409: same id, and ids are derived, so the same statement) counts as delivered and
one it refuses holds back no other. A time-out, a connection error or any other answer
means the store is not taking statements now: the whole batch is tried again later.
"""

from dataclasses import dataclass

import requests

VERSION = "1.0.3"
DELIVERED = (200, 204)
ONE_BY_ONE = (400, 409, 413)
TEXT_SHOWN = 300


@dataclass(frozen=True)
class Store:
    """A learning record store: its xAPI endpoint, credentials and time-out in seconds."""

    endpoint: str
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    @property
    def statements_url(self):
        """Return the address of the store's Statements resource."""
        return f"{self.endpoint.rstrip('/')}/statements"


def configured(config):
    """Return the store the app is configured with (SIMULATOR_XAPI_*), or None."""
    endpoint = config.get("XAPI_ENDPOINT")
    if not endpoint:
        return None
    username, password = config.get("XAPI_USERNAME"), config.get("XAPI_PASSWORD")
    return Store(
        endpoint=str(endpoint),
        # Read from the environment as JSON, a password of digits would be a number.
        username=None if username is None else str(username),
        password=None if password is None else str(password),
        timeout=float(config.get("XAPI_TIMEOUT") or 10),
    )


def deliver(store, statements):
    """Send statements to the store; return None for each one delivered, else the error."""
    with client(store) as http:
        status, error = call(http, store, "POST", store.statements_url, json=statements)
        if error is None:
            return [None] * len(statements)
        if status not in ONE_BY_ONE:
            return [error] * len(statements)
        return one_by_one(http, store, statements)


def one_by_one(http, store, statements):
    """PUT each statement by its id; stop at the first sign that the store is not taking any."""
    errors = []
    for index, statement in enumerate(statements):
        url, query = store.statements_url, {"statementId": statement["id"]}
        status, error = call(http, store, "PUT", url, params=query, json=statement)
        if status == 409:
            error = None  # the store already holds this id
        errors.append(error)
        if error is not None and status not in (400, 413):
            return errors + [error] * (len(statements) - index - 1)
    return errors


def client(store):
    """Return an HTTP session that speaks xAPI to the store."""
    http = requests.Session()
    http.headers["X-Experience-API-Version"] = VERSION
    if store.username is not None:
        http.auth = (store.username, store.password or "")
    return http


def call(http, store, method, url, **kwargs):
    """Make one request; return its status (None without an answer) and the error, if any."""
    try:
        response = http.request(
            method, url, timeout=store.timeout, allow_redirects=False, **kwargs
        )
    except requests.Timeout:
        return None, f"no answer from {url} within {store.timeout:g} s"
    except requests.RequestException as error:
        return None, f"could not reach {url}: {type(error).__name__}: {error}"[:TEXT_SHOWN]
    if response.status_code in DELIVERED:
        return response.status_code, None
    text = " ".join(response.text.split())[:TEXT_SHOWN]
    return response.status_code, f"{method} {url}: HTTP {response.status_code} {text}".strip()
