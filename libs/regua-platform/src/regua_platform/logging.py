"""Structured JSON logs on stdout. CPF/CNPJ, e-mail addresses and phones are masked before writing (LGPD)."""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

# Phones however written: +55 11 9 8765 4321, +55-11-98765-4321, (11) 98765-4321, a trunk 0 with or without a
# carrier code (011 9..., 0 15 11 9...), 0055 abroad, dots, dashes or spaces between the groups. A number that
# goes on after (or before) a dash, dot or slash is longer than a phone (a CNPJ's "-00", "00.000."): the
# document rules take it.
_PHONE = (r"(?<!\w)(?<!\d[.\-/])(?:(?:\+|00)?55[\s.\-]?|0[\s.\-]?(?:\d{{2}}[\s.\-]?)?){prefix}\(?\d{{2}}\)?[\s.\-]?"
          r"(?:9[\s.\-]?)?\d{{4}}[\s.\-]?\d{{4}}(?![\w]|[.\-/]\d)")
_PII = [
    (re.compile(r"[\w.+\-]+@[\w\-]+\.[\w.\-]+"), "<email>"),
    # With a country code or a trunk 0 a number is a phone before anything else ("+55 11987654321" is no CPF).
    (re.compile(_PHONE.format(prefix="")), "<phone>"),
    # A CNPJ may be alphanumeric (upper-case letters in its first 12 characters) since 2026.
    (re.compile(r"\b[\dA-Z]{2}\.?[\dA-Z]{3}\.?[\dA-Z]{3}/?[\dA-Z]{4}-?\d{2}\b"), "<cnpj>"),
    (re.compile(r"\b\d{3}\.?\d{3}\.?\d{3}-?\d{2}\b"), "<cpf>"),
    (re.compile(_PHONE.format(prefix="?")), "<phone>"),
]
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def mask_pii(text: str) -> str:
    for pattern, replacement in _PII:
        text = pattern.sub(replacement, text)
    return text


def _masked(value: Any) -> Any:
    """Masks strings inside extras, however nested; other objects are written as their masked ``str``."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {mask_pii(str(k)): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_pii(str(value))


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": mask_pii(record.getMessage()),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                entry[key] = _masked(value)
        if record.exc_info:
            entry["exc"] = mask_pii(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # FastStream's own logger writes coloured text to stderr and does not propagate: route it here.
    faststream = logging.getLogger("faststream")
    faststream.handlers[:] = [handler]
    for noisy in ("aiokafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
