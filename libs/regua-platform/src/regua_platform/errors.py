"""Validation errors as clear per-field reasons, the same for HTTP bodies and dead-lettered events."""

from typing import Any

from pydantic import ValidationError


def field_errors(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[dict[str, str]]:
    """``[{"field": "debtor.document", "reason": "invalid CPF check digits"}, ...]``"""
    out = []
    for err in exc.errors(include_url=False):
        loc = [*prefix, *(p for p in err["loc"] if not _is_union_tag(p))]
        out.append({"field": ".".join(str(p) for p in loc) or "(body)", "reason": reason(err)})
    return out


def describe(exc: ValidationError) -> str:
    return "; ".join(f"{e['field']}: {e['reason']}" for e in field_errors(exc))


def _is_union_tag(part: Any) -> bool:
    # Discriminated unions add the tag ("invoice.register.v1") to the location; callers don't need it.
    return isinstance(part, str) and part.count(".") >= 2 and part.split(".")[-1].startswith("v")


_REASONS = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "date_type": "must be an ISO date (YYYY-MM-DD)",
    "date_parsing": "must be an ISO date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be an ISO date (YYYY-MM-DD)",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "int_parsing": "must be an integer",
    "greater_than": "must be greater than {gt}",
}


def reason(err: Any) -> str:
    template = _REASONS.get(err["type"])
    if template is not None:
        return template.format(**err.get("ctx", {}))
    return str(err["msg"]).removeprefix("Value error, ")
