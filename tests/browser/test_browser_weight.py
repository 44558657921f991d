"""A first visit stays light, and later pages take every static file from the browser's cache.

The bytes are what Chromium itself reports through the DevTools Protocol: each request's
`encodedDataLength`, the bytes it took from the network, headers and compression included.
"""

from journeys import PASSWORD, heading

FIRST_VISIT_BUDGET = 100 * 1024


class Transfers:
    """Record each request a page makes, and the bytes it took from the network."""

    def __init__(self, page):
        self.urls = {}
        self.bytes = {}
        self.cached = set()
        cdp = page.context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", self.sent)
        cdp.on("Network.requestServedFromCache", self.served_from_cache)
        cdp.on("Network.responseReceived", self.received)
        cdp.on("Network.loadingFinished", self.finished)
        cdp.send("Network.enable")

    def sent(self, event):
        """Note a request's address, counting the redirect that led to it, if any."""
        request_id = event["requestId"]
        self.urls[request_id] = event["request"]["url"]
        redirect = event.get("redirectResponse")
        if redirect is not None:
            self.bytes[request_id] = self.bytes.get(request_id, 0) + redirect["encodedDataLength"]

    def served_from_cache(self, event):
        """Note a request answered from the memory cache."""
        self.cached.add(event["requestId"])

    def received(self, event):
        """Note a response read from the disk cache."""
        response = event["response"]
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            self.cached.add(event["requestId"])

    def finished(self, event):
        """Add the bytes a finished request took from the network."""
        request_id = event["requestId"]
        self.bytes[request_id] = self.bytes.get(request_id, 0) + event["encodedDataLength"]

    def take(self):
        """Return {url: (bytes, from cache)} for the requests so far, and start afresh."""
        taken = {
            self.urls[request_id]: (self.bytes.get(request_id, 0), request_id in self.cached)
            for request_id in self.urls
        }
        self.urls, self.bytes, self.cached = {}, {}, set()
        return taken


def report(transfers):
    """Return one line per request: bytes, whether from the cache, and address."""
    return "\n".join(
        f"{size:8d} {'cache' if cached else 'network':7s} {url}"
        for url, (size, cached) in sorted(transfers.items())
    )


def fetched_static_files(transfers):
    """Keep the requests for static files that took anything from the network."""
    return {
        url: (size, cached)
        for url, (size, cached) in transfers.items()
        if "/static/" in url and (size or not cached)
    }


def first_visit(page):
    """Open the sign-in page in a fresh browser and return what it transferred."""
    transfers = Transfers(page)
    page.goto("/sign-in")
    page.wait_for_load_state("networkidle")
    return transfers, transfers.take()


def test_a_first_visit_transfers_under_100_kb(page):
    """The sign-in page, with an empty cache, takes under 100 KB from the network, all told."""
    _, transferred = first_visit(page)
    total = sum(size for size, _ in transferred.values())
    print(f"\nfirst visit: {total} bytes\n{report(transferred)}")
    assert fetched_static_files(transferred), "the sign-in page loaded no static file"
    assert total < FIRST_VISIT_BUDGET, report(transferred)


def test_the_next_page_fetches_no_static_file(page, trainee):
    """After the sign-in page, the catalogue takes every static file from the browser's cache."""
    transfers, _ = first_visit(page)
    page.get_by_label("Username").fill(trainee)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    heading(page, "Scenarios")
    page.wait_for_load_state("networkidle")
    transferred = transfers.take()
    print(f"\ncatalogue: {sum(size for size, _ in transferred.values())} bytes")
    print(report(transferred))
    assert "/static/" in report(transferred), "the catalogue asked for no static file"
    assert not fetched_static_files(transferred), report(transferred)
