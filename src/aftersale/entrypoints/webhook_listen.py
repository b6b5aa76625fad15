"""`aftersale webhooks listen`: a local receiver for a newcomer, in one command. It listens on
the loopback, registers itself as a webhook endpoint (in the database the settings point at,
the one `make run` serves), prints every delivery with its signature checked by
`standardwebhooks`, and deletes the endpoint when stopped."""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from aftersale.bootstrap import build_runtime
from aftersale.domain.actors import Actor, Role
from aftersale.services import webhooks
from aftersale.settings import get_settings

OPERATOR = Actor(user_id="cli", role=Role.ADMIN)


def _handler(secret: str, say: Callable[[str], None]) -> type[BaseHTTPRequestHandler]:
    """A request handler that checks and prints each delivery."""
    check = Webhook(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            try:
                event: Any = check.verify(body, dict(self.headers.items()))
                verdict = "signature ok"
            except WebhookVerificationError as exc:
                event, verdict = json.loads(body or "{}"), f"BAD SIGNATURE ({exc})"
            data = event.get("data", {})
            say(f"{event.get('type')}  order {data.get('order_id')}  {verdict}")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def listen(port: int, events: list[str] | None, say: Callable[[str], None]) -> None:
    """Register an endpoint at http://127.0.0.1:port/ and print deliveries until Ctrl-C."""
    rt = build_runtime(get_settings())
    url = f"http://127.0.0.1:{port}/"
    made = webhooks.create_endpoint(
        rt, OPERATOR, url=url, events=events or None, allow_private=True
    )
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(made["secret"], say))
    say(f"listening on {url} as webhook endpoint {made['id']} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        webhooks.delete_endpoint(rt, OPERATOR, made["id"])
        rt.close()
        say(f"endpoint {made['id']} deleted")
