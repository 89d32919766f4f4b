"""Rulers as data: YAML and JSON parse to the same definition; every validation rule explains itself."""

import copy
import json
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from regua_ruler.domain.rulers import Condition, RulerDefinition, RulerStep, parse_ruler
from regua_ruler.store.rulers import DEFAULT_RULER, DEFAULT_SOURCE

RULER_YAML = """
name: tiered
description: Big invoices and chronic payers get a firmer track
segments:
  - name: big-or-chronic
    when:
      any_of:
        - {min_amount_cents: 500000}
        - {behaviour: [always_late], score_bands: [low, unknown]}
    challenger: {version: 2, share: 0.25}
    steps:
      - key: D+3
        offset_days: 3
        send: [[whatsapp, sms], email]
        template: notice
        tone: firm
      - key: D-7
        offset_days: -7
        send: [email]
        template: reminder
        tone: friendly
        when: {tags_any: [vip], max_amount_cents: 5000000}
  - name: rest
    steps:
      - {key: D+1, offset_days: 1, send: [phone], template: agent_call, tone: cordial}
"""

RULER_JSON = """{
  "name": "tiered",
  "description": "Big invoices and chronic payers get a firmer track",
  "segments": [
    {
      "name": "big-or-chronic",
      "when": {"any_of": [{"min_amount_cents": 500000},
                          {"behaviour": ["always_late"], "score_bands": ["low", "unknown"]}]},
      "challenger": {"version": 2, "share": 0.25},
      "steps": [
        {"key": "D+3", "offset_days": 3, "send": [["whatsapp", "sms"], "email"], "template": "notice",
         "tone": "firm"},
        {"key": "D-7", "offset_days": -7, "send": ["email"], "template": "reminder", "tone": "friendly",
         "when": {"tags_any": ["vip"], "max_amount_cents": 5000000}}
      ]
    },
    {"name": "rest", "steps": [{"key": "D+1", "offset_days": 1, "send": ["phone"], "template": "agent_call",
                                "tone": "cordial"}]}
  ]
}"""


def test_yaml_and_equivalent_json_parse_to_the_same_definition() -> None:
    from_yaml = parse_ruler(RULER_YAML)
    from_json = parse_ruler(RULER_JSON)
    assert from_yaml == from_json
    assert from_yaml == RulerDefinition.model_validate(json.loads(RULER_JSON))
    assert parse_ruler(RULER_JSON.encode()) == from_json  # a request body arrives as bytes


def test_the_parsed_definition() -> None:
    ruler = parse_ruler(RULER_YAML)
    big, rest = ruler.segments
    assert (ruler.name, big.name, rest.name) == ("tiered", "big-or-chronic", "rest")
    assert [s.key for s in big.steps] == ["D-7", "D+3"]  # steps are kept in offset order
    d_minus_7, d_plus_3 = big.steps
    assert d_plus_3.slots == [["whatsapp", "sms"], ["email"]]
    assert d_minus_7.when == Condition(tags_any=["vip"], max_amount_cents=5_000_000)
    assert big.challenger is not None and (big.challenger.version, big.challenger.share) == (2, 0.25)
    assert big.when is not None and big.when.any_of is not None and len(big.when.any_of) == 2
    assert rest.when is None and rest.challenger is None


def test_the_default_ruler_is_the_packaged_yaml() -> None:
    assert parse_ruler(DEFAULT_SOURCE) == DEFAULT_RULER
    assert DEFAULT_RULER.name == "default"
    (standard,) = DEFAULT_RULER.segments
    assert [s.key for s in standard.steps] == ["D-5", "D-1", "D+1", "D+5", "D+10", "D+15", "D+30"]


@pytest.mark.parametrize("dump", [
    lambda d: json.dumps(d),
    lambda d: json.dumps(d, indent=2),
    lambda d: json.dumps(d, separators=(",", ":")),  # compact JSON
    lambda d: yaml.safe_dump(d),
    lambda d: yaml.safe_dump(d, default_flow_style=True),
], ids=["json", "json-indented", "json-compact", "yaml-block", "yaml-flow"])
def test_the_default_and_the_tiered_ruler_survive_every_serialisation(dump: Any) -> None:
    for ruler in (DEFAULT_RULER, parse_ruler(RULER_YAML)):
        assert parse_ruler(dump(ruler.model_dump(mode="json"))) == ruler
        assert parse_ruler(ruler.model_dump_json()) == ruler
        assert RulerDefinition.model_validate_json(ruler.model_dump_json()) == ruler  # how the store reads it


def _with_description(text: str) -> dict[str, Any]:
    return DEFAULT_RULER.model_dump(mode="json") | {"description": text}


# PyYAML (YAML 1.1) is not a superset of JSON: valid JSON that it would reject or read differently from
# json.loads. parse_ruler must read JSON as JSON.
PYYAML_IS_NOT_JSON = [
    pytest.param(json.dumps(DEFAULT_RULER.model_dump(mode="json"), indent="\t"), DEFAULT_RULER,
                 id="tab-indented"),  # ValueError: found character '\t' that cannot start any token
    pytest.param(json.dumps(_with_description("Régua 🚀")), DEFAULT_RULER.model_copy(update={
        "description": "Régua 🚀"}), id="escaped-non-bmp"),  # "\ud83d\ude80" -> two lone surrogates
    pytest.param(RULER_JSON.replace('"min_amount_cents": 500000', '"min_amount_cents": 5e5'),
                 RulerDefinition.model_validate(yaml.safe_load(RULER_YAML)), id="exponent-number"),  # "5e5": a str
    pytest.param(json.dumps(_with_description("fim \u2028linha"), ensure_ascii=False),
                 DEFAULT_RULER.model_copy(update={"description": "fim \u2028linha"}),
                 id="raw-line-separator"),  # folded like a YAML line break: "fim linha"
    pytest.param(DEFAULT_RULER.model_copy(update={"description": "x\ufffe"}).model_dump_json(),
                 DEFAULT_RULER.model_copy(update={"description": "x\ufffe"}),
                 id="raw-noncharacter"),  # ValueError: unacceptable character #xfffe
]


@pytest.mark.parametrize(("text", "expected"), PYYAML_IS_NOT_JSON)
def test_valid_json_parses_like_json(text: str, expected: RulerDefinition) -> None:
    assert RulerDefinition.model_validate(json.loads(text)) == expected  # what JSON means
    ruler = parse_ruler(text)
    assert ruler == expected
    assert parse_ruler(ruler.model_dump_json()) == ruler  # and what the store writes reads back


# --- validation ---------------------------------------------------------------------------------------

def base() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(RULER_YAML))


def step(**over: Any) -> dict[str, Any]:
    return {"key": "D+1", "offset_days": 1, "send": ["email"], "template": "notice", "tone": "informative"} | over


def edit(fn: Any) -> dict[str, Any]:
    data = base()
    fn(data)
    return data


def _set(path: list[Any], value: Any) -> Any:
    def apply(data: dict[str, Any]) -> None:
        target: Any = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return apply


INVALID = [
    ("duplicate step keys", _set(["segments", 1, "steps"], [step(), step(offset_days=2)]),
     "step keys must be unique within a segment"),
    ("a reserved step key", _set(["segments", 1, "steps"], [step(key="answer:x")]), "should match pattern"),
    ("duplicate segment names", _set(["segments", 0, "name"], "rest"), "segment names must be unique"),
    ("channel twice in a step", _set(["segments", 1, "steps"], [step(send=["email", ["sms", "email"]])]),
     "a channel may appear only once in a step"),
    ("channel twice in one fallback", _set(["segments", 1, "steps"], [step(send=[["sms", "sms"]])]),
     "a channel may appear only once in a step"),
    ("empty fallback list", _set(["segments", 1, "steps"], [step(send=["email", []])]),
     "a fallback list needs at least one channel"),
    ("last segment with conditions", _set(["segments", 1, "when"], {"min_amount_cents": 1}),
     "the last segment must have no conditions"),
    ("last segment with empty conditions", _set(["segments", 1, "when"], {}),
     "the last segment must have no conditions"),
    ("challenger share 0", _set(["segments", 0, "challenger", "share"], 0), "greater than 0"),
    ("challenger share 1", _set(["segments", 0, "challenger", "share"], 1), "less than 1"),
    ("challenger share 1.5", _set(["segments", 0, "challenger", "share"], 1.5), "less than 1"),
    ("challenger share negative", _set(["segments", 0, "challenger", "share"], -0.1), "greater than 0"),
    ("challenger version 0", _set(["segments", 0, "challenger", "version"], 0), "greater than or equal to 1"),
    ("unknown channel", _set(["segments", 1, "steps"], [step(send=["fax"])]), "'email', 'sms', 'whatsapp' or"),
    ("unknown tone", _set(["segments", 1, "steps"], [step(tone="rude")]), "'friendly'"),
    ("empty send", _set(["segments", 1, "steps"], [step(send=[])]), "at least 1 item"),
    ("no steps", _set(["segments", 1, "steps"], []), "at least 1 item"),
    ("no segments", _set(["segments"], []), "at least 1 item"),
    ("offset too early", _set(["segments", 1, "steps"], [step(offset_days=-61)]), "greater than or equal to -60"),
    ("offset too late", _set(["segments", 1, "steps"], [step(offset_days=366)]), "less than or equal to 365"),
    ("bad template", _set(["segments", 1, "steps"], [step(template="Notice!")]), "should match pattern"),
    ("empty key", _set(["segments", 1, "steps"], [step(key="")]), "at least 1 character"),
    ("long key", _set(["segments", 1, "steps"], [step(key="k" * 21)]), "at most 20 characters"),
    ("bad ruler name", _set(["name"], "Tiered Ruler"), "should match pattern"),
    ("bad segment name", _set(["segments", 1, "name"], "rest!"), "should match pattern"),
    ("unknown field", _set(["segments", 1, "steps"], [step(channel="email")]), "Extra inputs are not permitted"),
    ("unknown behaviour", _set(["segments", 0, "when"], {"behaviour": ["late"]}), "'on_time'"),
    ("negative amount", _set(["segments", 0, "when"], {"min_amount_cents": -1}), "greater than or equal to 0"),
]


@pytest.mark.parametrize(("change", "reason"), [(c, r) for _, c, r in INVALID], ids=[i for i, _, _ in INVALID])
def test_each_validation_rule_gives_its_reason(change: Any, reason: str) -> None:
    data = edit(change)
    for text in (json.dumps(data), yaml.safe_dump(data)):
        with pytest.raises(ValidationError) as caught:
            parse_ruler(text)
        assert reason in str(caught.value)


def test_errors_point_at_the_offending_field() -> None:
    data = edit(_set(["segments", 0, "challenger", "share"], 1))
    with pytest.raises(ValidationError) as caught:
        parse_ruler(json.dumps(data))
    (error,) = caught.value.errors()
    assert error["loc"] == ("segments", 0, "challenger", "share")


def test_the_base_of_the_invalid_cases_is_valid() -> None:
    assert parse_ruler(json.dumps(base())) == parse_ruler(RULER_YAML)


@pytest.mark.parametrize("text", ["name: [unclosed", "{\"name\": \"x\",", "a: b: c"])
def test_text_that_is_neither_yaml_nor_json(text: str) -> None:
    with pytest.raises(ValueError, match="not valid YAML or JSON"):
        parse_ruler(text)


@pytest.mark.parametrize("text", ["", "just text", "- a list", "42"])
def test_a_document_that_is_not_a_ruler(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_ruler(text)


def test_the_step_model_validates_on_construction_too() -> None:
    with pytest.raises(ValidationError, match="a channel may appear only once in a step"):
        RulerStep(key="x", offset_days=1, send=["sms", ["whatsapp", "sms"]], template="t", tone="firm")
    ok = RulerStep(key="x", offset_days=1, send=["sms", ["whatsapp", "email"]], template="t", tone="firm")
    assert ok.slots == [["sms"], ["whatsapp", "email"]]
