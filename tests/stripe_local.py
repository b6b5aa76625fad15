"""localstripe (a Stripe-protocol server from PyPI) as a real server on a free port, and the
few Stripe calls a test makes as the storefront would: a card payment that succeeded."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import stripe

API_KEY = "sk_test_aftersale_local"
WEBHOOK_SECRET = "whsec_aftersale_local_0123456789"


class LocalStripe:
    """`python -m localstripe --from-scratch` on a free port, stopped by `stop()`."""

    def __init__(self, port: int, log: Path) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.client = stripe.StripeClient(API_KEY, base_addresses={"api": self.base_url})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"localstripe exited: {log.read_text()[-2000:]}")
            try:
                httpx.get(f"{self.base_url}/v1/refunds", auth=(API_KEY, ""), timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("localstripe did not start in 30 s")

    def settings(self) -> dict[str, Any]:
        """The aftersale settings that point at this server."""
        return {
            "payment_gateway": "stripe",
            "stripe_api_key": API_KEY,
            "stripe_api_base": self.base_url,
            "stripe_webhook_secret": WEBHOOK_SECRET,
        }

    def env(self) -> dict[str, str]:
        """The same settings as AFTERSALE_* environment variables."""
        return {f"AFTERSALE_{k.upper()}": str(v) for k, v in self.settings().items()}

    def payment(self, amount_minor: int, currency: str = "usd") -> str:
        """A card PaymentIntent that succeeded (as the storefront's checkout makes one)."""
        card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123"}
        method = self.client.v1.payment_methods.create(params={"type": "card", "card": card})
        intent = self.client.v1.payment_intents.create(
            params={
                "amount": amount_minor,
                "currency": currency,
                "payment_method": method.id,
                "confirm": True,
            }
        )
        assert intent.status == "succeeded", intent.status
        return str(intent.id)

    def refunds_of(self, payment_intent: str) -> list[dict[str, Any]]:
        """Every Stripe refund on a payment."""
        page = self.client.v1.refunds.list(params={"payment_intent": payment_intent, "limit": 100})
        return [r.to_dict() for r in page.auto_paging_iter()]

    def stop(self) -> None:
        """Stop the server."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def signed_event(event: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    """An event's body and its Stripe-Signature header, signed as Stripe signs them."""
    payload = json.dumps(event).encode()
    stamp = int(time.time())
    mac = hmac.new(secret.encode(), b"%d." % stamp + payload, hashlib.sha256).hexdigest()
    return payload, f"t={stamp},v1={mac}"


def refund_event(
    kind: str, refund_id: str, status: str, *, reference: str = "re_x"
) -> dict[str, Any]:
    """A Stripe event about a refund that carries our refund id in its metadata."""
    return {
        "id": f"evt_{refund_id}_{status}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {
            "object": {
                "id": reference,
                "object": "refund",
                "status": status,
                "amount": 100,
                "currency": "usd",
                "metadata": {"refund_id": refund_id, "order_id": "o"},
                "failure_reason": "lost_or_stolen_card" if status == "failed" else None,
            }
        },
    }
