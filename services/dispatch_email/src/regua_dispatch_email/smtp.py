"""SMTP adapter with a commit point inside the DATA command.

SMTP has no idempotency key, and a server takes responsibility for a message only when it reads the
final "<CRLF>.<CRLF>". So the whole message is transmitted, then the caller's ``confirm`` records the send
in the database, and only then is the terminator written. A crash before ``confirm`` commits leaves an
incomplete DATA that the server discards on disconnect (the retry is the first real send); a crash after
it leaves a recorded send that is not retried. The debtor gets the e-mail once either way.

Failures: 5xx answers are permanent (hard bounce); connection problems and 4xx are retried.
"""

from collections.abc import Awaitable, Callable
from email.message import EmailMessage

import aiosmtplib
from aiosmtplib.email import flatten_message
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from aiosmtplib.response import SMTPResponse
from aiosmtplib.typing import SMTPStatus

from regua_platform.kafka import TransientError
from regua_platform.settings import Settings

Confirm = Callable[[], Awaitable[None]]


class PermanentSendFailure(Exception):
    pass


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage, sender: str, recipient: str, confirm: Confirm) -> None:
        s = self._settings
        smtp = aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, timeout=s.smtp_timeout_seconds,
                               use_tls=s.smtp_use_tls, start_tls=False if not s.smtp_use_tls else None)
        try:
            await smtp.connect()
            if s.smtp_username and s.smtp_password:
                await smtp.login(s.smtp_username, s.smtp_password)
            await smtp.mail(sender)
            await smtp.rcpt(recipient)
            await _data_with_commit_point(smtp, flatten_message(message), confirm)
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                raise PermanentSendFailure(f"SMTP {exc.code} {exc.message}") from exc
            raise TransientError(f"SMTP {exc.code}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TransientError(f"SMTP unavailable: {type(exc).__name__}") from exc
        finally:
            smtp.close()


async def _data_with_commit_point(smtp: aiosmtplib.SMTP, raw: bytes, confirm: Confirm) -> None:
    """aiosmtplib's DATA command (protocol.execute_data_command), split at the terminator."""
    protocol = smtp.protocol
    assert protocol is not None
    raw = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(raw))
    if not raw.endswith(b"\r\n"):
        raw += b"\r\n"
    start: SMTPResponse = await smtp.execute_command(b"DATA")
    if start.code != SMTPStatus.start_input:
        raise aiosmtplib.SMTPDataError(start.code, start.message)
    protocol.write(raw)
    await confirm()
    protocol._response_pending = True  # what execute_data_command does before it writes
    protocol.write(b".\r\n")
    done = await protocol.read_response(timeout=smtp.timeout)
    if done.code != SMTPStatus.completed:
        raise aiosmtplib.SMTPDataError(done.code, done.message)
