"""The contact-facts reader looks at the type alone, yet refuses a type it does not know (unit, no I/O)."""

import pytest
from pydantic import TypeAdapter, ValidationError

from regua_dispatch.facts import _Kind

KIND = TypeAdapter(_Kind)


def test_a_known_type_is_read_without_the_rest_of_the_event() -> None:
    assert KIND.validate_json(b'{"type": "contact.opted-out.v1", "anything": 1}').type == "contact.opted-out.v1"


@pytest.mark.parametrize("kind", ["contact.opted-out.v2", "contact.exploded.v1", ""])
def test_an_unknown_or_future_type_is_refused_so_it_is_dead_lettered(kind: str) -> None:
    with pytest.raises(ValidationError, match="unknown contact event type"):
        KIND.validate_json(b'{"type": "%s"}' % kind.encode())
