"""Headers on every response: framing, sniffing, referrers, device features, HSTS, caching."""

import json
from pathlib import Path

import pytest

from simulator.web import HSTS

MANIFEST = Path(__file__).resolve().parent.parent / "static" / "dist" / "manifest.json"
EVERYWHERE = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@pytest.mark.parametrize("url", ["/sign-in", "/no/such/page"])
def test_every_page_sends_the_security_headers(client, url):
    """Pages and error pages alike forbid framing, sniffing and cross-site referrers."""
    response = client.get(url)
    for name, value in EVERYWHERE.items():
        assert response.headers[name] == value
    assert "Content-Security-Policy" in response.headers  # its value: tests/test_csp.py


def test_device_features_are_denied(client):
    """Permissions-Policy turns off camera, microphone, location, payment, USB and topics."""
    policy = client.get("/sign-in").headers["Permissions-Policy"]
    features = ("camera", "microphone", "geolocation", "payment", "usb")
    for feature in (*features, "interest-cohort", "browsing-topics"):
        assert f"{feature}=()" in policy


def test_hsts_only_over_https(client):
    """Strict-Transport-Security is sent over HTTPS and never over plain http."""
    secure = client.get("/sign-in", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == HSTS
    assert "Strict-Transport-Security" not in client.get("/sign-in").headers


def test_a_forwarded_proto_is_not_trusted(client):
    """No proxy is trusted, so X-Forwarded-Proto alone does not make a request secure."""
    response = client.get("/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("url", ["/", "/account", "/no/such/page"])
def test_signed_in_pages_are_never_stored(signed_in, url):
    """Every page served to a signed-in person, error pages too, says no-store."""
    assert signed_in.get(url).headers["Cache-Control"] == "no-store"


def test_the_sign_in_page_may_be_cached_as_usual(client):
    """A page for someone not signed in carries no personal data, so no-store is not forced."""
    assert "Cache-Control" not in client.get("/sign-in").headers


def test_static_files_keep_their_year_long_cache(signed_in):
    """WhiteNoise's immutable caching survives, even for a signed-in person."""
    hashed = json.loads(MANIFEST.read_text())["govuk.css"]
    response = signed_in.get(f"/static/{hashed}")
    assert response.headers["Cache-Control"] == "max-age=31536000, public, immutable"
    response.close()
