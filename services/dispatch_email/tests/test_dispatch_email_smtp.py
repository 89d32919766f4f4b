"""The SMTP adapter against a real SMTP server (aiosmtpd, in-process) on a free local port (integration).

The commit point: ``confirm`` runs after the message is transmitted and before the server has accepted it."""

import asyncio
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from regua_dispatch_email.smtp import PermanentSendFailure, SmtpSender, _bad_address
from regua_platform.kafka import TransientError
from regua_platform.settings import Settings

SENDER = "cobranca@regua.local"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class Mailbox:
    """Refuses @bounce.invalid (550) and @later.invalid (451); keeps every accepted message."""

    messages: list[Received] = field(default_factory=list)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address.endswith("@bounce.invalid"):
            return "550 5.1.1 mailbox unavailable"
        if address.endswith("@later.invalid"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        assert isinstance(content, bytes) and isinstance(envelope.mail_from, str)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), content))
        return "250 2.0.0 accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def smtp_port(mailbox: Mailbox) -> Iterator[int]:
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _sender(port: int) -> SmtpSender:
    return SmtpSender(Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_timeout_seconds=5))


def _message(to: str, body: str = "Olá, Ana!\nSua fatura vence amanhã.\n") -> EmailMessage:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = "Lembrete: sua fatura vence em 10/03/2027"
    message["Message-ID"] = "<0b6f3c1e-2d4a-4f7e-9c1b-8a2d3e4f5a6b@regua>"
    message.set_content(body)
    return message


def _parsed(received: Received) -> Any:
    return message_from_bytes(received.content, policy=policy.default)


def _text(received: Received) -> str:
    content: str = _parsed(received).get_content()
    return content.replace("\r\n", "\n")  # the wire has CRLF line endings


async def _settle() -> None:
    # Time for the server thread to act on anything the client wrote (it would, if the terminator had been sent).
    await asyncio.sleep(0.2)


async def test_confirm_runs_before_the_server_accepts_and_the_message_arrives_once(
        mailbox: Mailbox, smtp_port: int) -> None:
    seen_by_confirm: list[int] = []

    async def confirm() -> None:
        seen_by_confirm.append(len(mailbox.messages))  # before any await: what the server had accepted by then

    await _sender(smtp_port).send(_message("ana@example.com"), SENDER, "ana@example.com", confirm)

    assert seen_by_confirm == [0]  # called once, and the server had not accepted anything yet
    await _settle()
    assert len(mailbox.messages) == 1
    received = mailbox.messages[0]
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ["ana@example.com"]
    parsed = _parsed(received)
    assert parsed["Subject"] == "Lembrete: sua fatura vence em 10/03/2027"
    assert parsed["Message-ID"] == "<0b6f3c1e-2d4a-4f7e-9c1b-8a2d3e4f5a6b@regua>"
    assert _text(received) == "Olá, Ana!\nSua fatura vence amanhã.\n"


async def test_lines_starting_with_a_dot_arrive_intact(mailbox: Mailbox, smtp_port: int) -> None:
    body = "linha 1\n.\n.. dois pontos\n.oculta\nfim\n"

    async def confirm() -> None:
        pass

    await _sender(smtp_port).send(_message("ana@example.com", body), SENDER, "ana@example.com", confirm)
    await _settle()
    assert len(mailbox.messages) == 1
    assert _text(mailbox.messages[0]) == body


async def test_a_failing_confirm_fails_the_send(smtp_port: int) -> None:
    async def confirm() -> None:
        raise ConnectionRefusedError("database down")

    with pytest.raises(TransientError):
        await _sender(smtp_port).send(_message("ana@example.com"), SENDER, "ana@example.com", confirm)


async def test_a_refused_recipient_is_a_permanent_failure(mailbox: Mailbox, smtp_port: int) -> None:
    confirmed: list[bool] = []

    async def confirm() -> None:
        confirmed.append(True)

    with pytest.raises(PermanentSendFailure, match="550"):
        await _sender(smtp_port).send(_message("ana@bounce.invalid"), SENDER, "ana@bounce.invalid", confirm)
    assert confirmed == []
    await _settle()
    assert mailbox.messages == []


async def test_a_temporary_refusal_is_transient(mailbox: Mailbox, smtp_port: int) -> None:
    confirmed: list[bool] = []

    async def confirm() -> None:
        confirmed.append(True)

    with pytest.raises(TransientError, match="451"):
        await _sender(smtp_port).send(_message("ana@later.invalid"), SENDER, "ana@later.invalid", confirm)
    assert confirmed == []
    assert mailbox.messages == []


async def test_a_closed_port_is_transient() -> None:
    confirmed: list[bool] = []

    async def confirm() -> None:
        confirmed.append(True)

    started = time.monotonic()
    with pytest.raises(TransientError):
        await _sender(_free_port()).send(_message("ana@example.com"), SENDER, "ana@example.com", confirm)
    assert confirmed == []
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(("code", "message", "bad"), [
    (550, "5.1.1 mailbox unavailable", True),
    (550, "5.7.1 rejected as spam", False),
    (552, "5.2.2 mailbox full", False),
    (553, "mailbox name not allowed", True),
    (554, "transaction failed", False),
])
def test_which_permanent_failures_mean_a_bad_address(code: int, message: str, bad: bool) -> None:
    assert _bad_address(code, message) is bad


async def test_a_hard_bounce_for_an_unknown_mailbox_is_a_bad_address(smtp_port: int) -> None:
    async def confirm() -> None:
        pass

    with pytest.raises(PermanentSendFailure) as caught:
        await _sender(smtp_port).send(_message("ana@bounce.invalid"), SENDER, "ana@bounce.invalid", confirm)
    assert caught.value.bad_address
