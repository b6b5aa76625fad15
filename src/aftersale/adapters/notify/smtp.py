"""Mail over SMTP: `smtp://host:port`, `smtp+starttls://user:pass@host:port` or
`smtps://user:pass@host:port` (AFTERSALE_SMTP_URL)."""

from __future__ import annotations

import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from types import TracebackType
from urllib.parse import unquote, urlsplit

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
# CRLF line ends; headers folded only past RFC 5322's hard limit (a subject with an order id
# is often longer than 78 characters, and some readers keep the fold's space)
POLICY = policy.SMTP.clone(max_line_length=998)


def message(
    *, sender: str, to: str, subject: str, text: str, html: str, message_id: str
) -> EmailMessage:
    """A multipart/alternative mail: plain text first, then HTML."""
    msg = EmailMessage(policy=POLICY)
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, to, subject, message_id
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


class SmtpConnection:
    """One SMTP session, opened on entry (TLS and login as the URL says)."""

    def __init__(self, url: str, *, timeout: float = 30.0, ca_file: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError("AFTERSALE_SMTP_URL must be smtp://, smtp+starttls:// or smtps://")
        self.parts, self.timeout = parts, timeout
        # the server's certificate and name are always checked (against ca_file when given)
        self.tls = ssl.create_default_context(cafile=ca_file)
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpConnection:
        p = self.parts
        host, port = p.hostname or "", p.port or SCHEMES[p.scheme]
        if p.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=self.timeout, context=self.tls
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=self.timeout)
            if p.scheme == "smtp+starttls":
                smtp.starttls(context=self.tls)
        if p.username:
            smtp.login(unquote(p.username), unquote(p.password or ""))
        self.smtp = smtp
        return self

    def send(self, msg: EmailMessage) -> None:
        """Send one message."""
        assert self.smtp is not None
        self.smtp.send_message(msg)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
