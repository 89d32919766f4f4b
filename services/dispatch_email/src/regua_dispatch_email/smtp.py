"""SMTP adapter whose DATA command ends together with the caller's database commit.

SMTP has no idempotency key, and a server takes responsibility for a message only when it reads the
final "<CRLF>.<CRLF>". So the whole message is transmitted first; then the caller's ``commit`` (which
records the send) and the terminator are written back to back in the same event-loop turn. Bytes handed
to the kernel are delivered even if the process is killed right after, so a crash leaves either neither
(the server discards the incomplete DATA; the retry is the first real send) or both (recorded and
delivered, not retried). The debtor gets the e-mail once either way.

Failures: 5xx answers are permanent (hard bounce; a bad address invalidates the contact); connection
problems and 4xx are retried.
"""

import asyncio
from collections.abc import Awaitable, Callable
from email.message import EmailMessage

import aiosmtplib
from aiosmtplib.email import flatten_message
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from aiosmtplib.response import SMTPResponse
from aiosmtplib.typing import SMTPStatus

from regua_platform.kafka import TransientError
from regua_platform.settings import Settings

Commit = Callable[[], Awaitable[None]]


class PermanentSendFailure(Exception):
    def __init__(self, reason: str, bad_address: bool = False) -> None:
        super().__init__(reason)
        self.bad_address = bad_address


def _bad_address(code: int, message: str) -> bool:
    """The mailbox itself is bad: enhanced status 5.1.x (RFC 3463), else 550/551/553 without one."""
    enhanced = message.split(" ", 1)[0]
    if enhanced[:2] == "5." and enhanced.count(".") == 2:
        return enhanced.startswith("5.1.")
    return code in (550, 551, 553)


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage, sender: str, recipient: str, commit: Commit) -> None:
        s = self._settings
        smtp = aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, timeout=s.smtp_timeout_seconds,
                               use_tls=s.smtp_use_tls, start_tls=False if not s.smtp_use_tls else None)
        try:
            await smtp.connect()
            if s.smtp_username and s.smtp_password:
                await smtp.login(s.smtp_username, s.smtp_password)
            await smtp.mail(sender)
            await smtp.rcpt(recipient)
            await _data_with_commit(smtp, flatten_message(message), commit)
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                raise PermanentSendFailure(f"SMTP {exc.code} {exc.message}",
                                           _bad_address(exc.code, exc.message)) from exc
            raise TransientError(f"SMTP {exc.code}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TransientError(f"SMTP unavailable: {type(exc).__name__}") from exc
        finally:
            smtp.close()


async def _data_with_commit(smtp: aiosmtplib.SMTP, raw: bytes, commit: Commit) -> None:
    """aiosmtplib's DATA command (protocol.execute_data_command), with the terminator sent beside ``commit``."""
    protocol = smtp.protocol
    assert protocol is not None
    raw = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(raw))
    if not raw.endswith(b"\r\n"):
        raw += b"\r\n"
    start: SMTPResponse = await smtp.execute_command(b"DATA")
    if start.code != SMTPStatus.start_input:
        raise aiosmtplib.SMTPDataError(start.code, start.message)
    protocol.write(raw)

    async def terminate() -> SMTPResponse:
        protocol._response_pending = True  # what execute_data_command does before it writes
        protocol.write(b".\r\n")
        return await protocol.read_response(timeout=smtp.timeout)

    # gather starts both in order within one loop turn: COMMIT is written, then the terminator.
    _, done = await asyncio.gather(commit(), terminate())
    if done.code != SMTPStatus.completed:
        raise aiosmtplib.SMTPDataError(done.code, done.message)
