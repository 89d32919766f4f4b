"""Rulers are data: a tenant writes them in YAML or JSON; each save is a new version. A ruler is a list of
segments (first match wins; the last one catches all), each with conditions and steps."""

import json
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Channel = Literal["email", "sms", "whatsapp", "phone"]
Tone = Literal["friendly", "informative", "cordial", "firm", "formal"]
Behaviour = Literal["on_time", "sometimes_late", "always_late", "unknown"]
ScoreBand = Literal["low", "medium", "high", "unknown"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Condition(_Strict):
    """All given fields must hold; ``any_of`` holds when one of its conditions does."""

    min_amount_cents: Annotated[int | None, Field(ge=0)] = None
    max_amount_cents: Annotated[int | None, Field(ge=0)] = None
    behaviour: list[Behaviour] | None = None
    score_bands: list[ScoreBand] | None = None
    tags_any: list[str] | None = None
    any_of: list["Condition"] | None = None


class RulerStep(_Strict):
    key: Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[^:]+$",
                              description="e.g. D+10; ':' is reserved for steps added on request")]
    offset_days: Annotated[int, Field(ge=-60, le=365, description="days from the due date; negative is pre-due")]
    # Each entry is one message: a channel, or a fallback order tried in turn (first usable channel wins).
    send: Annotated[list[Channel | list[Channel]], Field(min_length=1)]
    template: Annotated[str, Field(pattern=r"^[a-z_]+$")]
    tone: Tone
    when: Condition | None = None

    @property
    def slots(self) -> list[list[str]]:
        return [[s] if isinstance(s, str) else list(s) for s in self.send]

    @field_validator("send")
    @classmethod
    def _channels_once(cls, send: list[str | list[str]]) -> list[str | list[str]]:
        flat = [c for s in send for c in ([s] if isinstance(s, str) else s)]
        if any(isinstance(s, list) and not s for s in send):
            raise ValueError("a fallback list needs at least one channel")
        if len(flat) != len(set(flat)):
            raise ValueError("a channel may appear only once in a step")
        return send


#: Versions are PostgreSQL int4: a larger number is refused as a field error, not sent to the database.
MAX_VERSION = 2_147_483_647


class Challenger(_Strict):
    """Send a stable share of this segment's debtors to another version of the same ruler."""

    version: Annotated[int, Field(ge=1, le=MAX_VERSION)]
    share: Annotated[float, Field(gt=0, lt=1)]


class Segment(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9_\-]{1,40}$")]
    when: Condition | None = None
    challenger: Challenger | None = None
    steps: Annotated[list[RulerStep], Field(min_length=1)]

    @field_validator("steps")
    @classmethod
    def _unique_keys(cls, steps: list[RulerStep]) -> list[RulerStep]:
        keys = [s.key for s in steps]
        if len(set(keys)) != len(keys):
            raise ValueError("step keys must be unique within a segment")
        return sorted(steps, key=lambda s: s.offset_days)


class RulerDefinition(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9_\-]{1,40}$")]
    description: str = ""
    segments: Annotated[list[Segment], Field(min_length=1)]

    @model_validator(mode="after")
    def _last_segment_catches_all(self) -> "RulerDefinition":
        names = [s.name for s in self.segments]
        if len(set(names)) != len(names):
            raise ValueError("segment names must be unique")
        if self.segments[-1].when is not None:
            raise ValueError("the last segment must have no conditions, so every case gets a segment")
        return self


def parse_ruler(text: str | bytes, content_type: str = "") -> RulerDefinition:
    """JSON or YAML. Raises ValueError or pydantic.ValidationError with the reason. A body that is JSON is
    read as JSON (YAML 1.1 misreads some valid JSON); anything else, e.g. YAML flow style, as YAML."""
    raw = text.decode() if isinstance(text, bytes) else text
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        if "json" in content_type:
            raise ValueError(f"not valid YAML or JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError as yaml_exc:
            raise ValueError(f"not valid YAML or JSON: {yaml_exc}") from yaml_exc
    return RulerDefinition.model_validate(data)
