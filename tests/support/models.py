"""Real answers against the models a service's OpenAPI document declares for them."""

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def declared(model: type[M], answer: Any) -> M:
    """The answer holds the model and has no field the model does not declare."""
    assert set(answer) == set(model.model_fields), (model.__name__, set(answer) ^ set(model.model_fields))
    return model.model_validate(answer)
