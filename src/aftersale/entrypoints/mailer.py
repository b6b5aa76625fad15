"""Sending the due mail: each rendered once (Jinja2, a plain-text and an HTML part, in the
recipient's language) and sent over SMTP, or, with no AFTERSALE_SMTP_URL, kept in the
mailbox that staff read at /staff/mail. A reminder that no longer holds is skipped."""

from __future__ import annotations

import logging
import smtplib
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from aftersale.adapters import metrics
from aftersale.adapters.notify.smtp import SmtpConnection, message
from aftersale.entrypoints.mail_text import BODIES, FOOTER, GREETING, LINK, SUBJECTS, params
from aftersale.entrypoints.web.i18n import LANGUAGES, translate
from aftersale.services.mail import claim_mail, mail_done, mail_failed, order_now
from aftersale.services.notify_plan import reminder_holds
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings

log = logging.getLogger("aftersale.mail")
TEMPLATES = Path(__file__).parent / "web" / "templates" / "mail"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)


def render(row: dict[str, Any], view: dict[str, Any], *, public_url: str) -> dict[str, str]:
    """Subject, text and HTML of a mail in its language, with a link to the order's page."""
    lang = row["language"] if row["language"] in LANGUAGES else "en"
    values = params(row, view)
    seller = row["recipient_id"] == view.get("seller_id")
    page = f"/seller/orders/{view['id']}" if seller else f"/orders/{view['id']}"
    parts = {
        "lang": lang,
        "subject": translate(SUBJECTS[row["kind"]], lang, **values),
        "greeting": translate(GREETING, lang, **values),
        "body": translate(BODIES[row["kind"]], lang, **values),
        "link": public_url.rstrip("/") + page,
        "link_text": translate(LINK, lang),
        "footer": translate(FOOTER, lang),
    }
    return {
        "subject": parts["subject"],
        "text_body": _env.get_template("mail.txt").render(**parts),
        "html_body": _env.get_template("mail.html").render(**parts),
    }


class Mailer:
    """Sends (or keeps) the mail that is due."""

    def __init__(self, rt: Runtime, settings: Settings) -> None:
        self.rt, self.smtp_url = rt, settings.smtp_url
        self.smtp_ca_file = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
        self.sender, self.public_url = settings.mail_from, settings.public_url
        self.domain = settings.mail_from.rpartition("@")[2] or "localhost"

    def send_due(self, *, limit: int = 200) -> int:
        """One batch of due mail; returns how many were handled."""
        rows = claim_mail(self.rt, limit=limit)
        ready = []
        for row in rows:
            try:
                prepared = self._prepare(row)
            except Exception as exc:  # one bad mail is set aside, never blocks the rest
                log.exception("mail %s could not be prepared", row["id"])
                mail_failed(self.rt, row, f"{type(exc).__name__}: {exc}", {})
                continue
            if prepared is not None:
                ready.append(prepared)
        if ready and self.smtp_url is None:
            for row in ready:
                mail_done(self.rt, row["id"], {"status": "stored", **_text(row)})
        elif ready:
            self._send(ready)
        return len(rows)

    def _prepare(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """The row with its text (rendered at the first attempt, then kept); None if skipped."""
        view = order_now(self.rt, row["order_id"])
        if view is None or (
            row["status"] == "scheduled" and not reminder_holds(row["kind"], row["context"], view)
        ):
            mail_done(self.rt, row["id"], {"status": "skipped"})
            return None
        if row["subject"] is None:
            row.update(render(row, view, public_url=self.public_url))
        return row

    def _send(self, rows: list[dict[str, Any]]) -> None:
        """Send over one SMTP session; a failure is retried later with backoff."""
        assert self.smtp_url is not None
        pending = list(rows)
        try:
            with SmtpConnection(self.smtp_url, ca_file=self.smtp_ca_file) as smtp:
                while pending:
                    row = pending[0]
                    smtp.send(
                        message(
                            sender=self.sender,
                            to=row["to_address"],
                            subject=row["subject"],
                            text=row["text_body"],
                            html=row["html_body"],
                            message_id=row["message_id"],
                        )
                    )
                    mail_done(self.rt, row["id"], {"status": "sent", **_text(row)})
                    metrics.mail_sent("sent")
                    pending.pop(0)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("SMTP failed: %s; %d mail will be retried", exc, len(pending))
            for row in pending:
                mail_failed(self.rt, row, f"{type(exc).__name__}: {exc}", _text(row))
                metrics.mail_sent("failed")


def _text(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("subject", "text_body", "html_body")}
