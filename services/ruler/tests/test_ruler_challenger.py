"""Champion/challenger: a stable, hash-seed independent share of a segment's debtors gets the challenger."""

import json
import os
import random
import subprocess
import sys
import uuid

import pytest

from regua_ruler.domain.planning import challenger_share_point, variant_of
from regua_ruler.domain.rulers import Segment, parse_ruler
from regua_ruler.store.rulers import DEFAULT_RULER

TENANT = "acme"
N = 10_000


def segment_source(share: float | None) -> str:
    challenger = f"challenger: {{version: 2, share: {share}}}" if share is not None else ""
    return f"""
name: default
segments:
  - name: standard
    {challenger}
    steps: [{{key: D+1, offset_days: 1, send: [email], template: notice, tone: informative}}]
"""


def segment_with(share: float | None) -> Segment:
    return parse_ruler(segment_source(share)).segments[0]


def debtor_ids(seed: int, n: int = N) -> list[uuid.UUID]:
    rng = random.Random(seed)
    return [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(n)]


@pytest.mark.parametrize("share", [0.2, 0.5])
def test_the_challenger_share_matches_the_configuration(share: float) -> None:
    segment = segment_with(share)
    variants = [variant_of(segment, TENANT, "default", d) for d in debtor_ids(seed=20270310)]
    assert abs(variants.count("challenger") / N - share) <= 0.02


@pytest.mark.parametrize("share", [0.2, 0.5])
def test_the_assignment_is_stable_across_calls_and_fresh_definitions(share: float) -> None:
    ids = debtor_ids(seed=42)
    segment = segment_with(share)
    first = [variant_of(segment, TENANT, "default", d) for d in ids]
    fresh = segment_with(share)  # as after a restart: the definition parsed again, the ids read again
    again = [variant_of(fresh, TENANT, "default", uuid.UUID(str(d))) for d in ids]
    assert first == again
    assert abs(first.count("challenger") / N - share) <= 0.02


def test_the_assignment_does_not_depend_on_pythons_hash_seed() -> None:
    ids = debtor_ids(seed=7, n=500)
    segment = segment_with(0.3)
    here = [(variant_of(segment, TENANT, "default", d), challenger_share_point(TENANT, "default", "standard", d))
            for d in ids]
    script = f"""
import json, uuid
from regua_ruler.domain.planning import challenger_share_point, variant_of
from regua_ruler.domain.rulers import parse_ruler
segment = parse_ruler({json.dumps(segment_source(0.3))}).segments[0]
ids = [uuid.UUID(s) for s in json.loads({json.dumps(json.dumps([str(d) for d in ids]))})]
print(json.dumps([(variant_of(segment, {TENANT!r}, "default", d),
                   challenger_share_point({TENANT!r}, "default", "standard", d)) for d in ids]))
"""
    for seed in ("123", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                timeout=60, check=True)
        there = [tuple(pair) for pair in json.loads(result.stdout)]
        assert there == here  # floats survive JSON exactly (repr round-trips)


def test_a_pinned_assignment() -> None:
    # The point is sha256("tenant:ruler:segment:debtor"): if it changes, open debtors switch variants.
    assert challenger_share_point(TENANT, "default", "standard", uuid.UUID(int=1)) == 0.4257803677728134
    assert challenger_share_point(TENANT, "default", "standard", uuid.UUID(int=2)) == 0.2639084665376286
    half = segment_with(0.5)
    assert variant_of(half, TENANT, "default", uuid.UUID(int=1)) == "challenger"
    assert variant_of(segment_with(0.4), TENANT, "default", uuid.UUID(int=1)) == "champion"


def test_a_larger_share_keeps_the_challengers_of_a_smaller_one() -> None:
    ids = debtor_ids(seed=3, n=2_000)
    small_share, large_share = segment_with(0.2), segment_with(0.5)
    small = {d for d in ids if variant_of(small_share, TENANT, "default", d) == "challenger"}
    large = {d for d in ids if variant_of(large_share, TENANT, "default", d) == "challenger"}
    assert small < large


def test_other_tenants_rulers_and_segments_draw_independently() -> None:
    ids = debtor_ids(seed=5, n=2_000)
    segment = segment_with(0.5)
    base = [variant_of(segment, TENANT, "default", d) for d in ids]
    for tenant, ruler in (("globex", "default"), (TENANT, "other")):
        other = [variant_of(segment, tenant, ruler, d) for d in ids]
        agreement = sum(a == b for a, b in zip(base, other, strict=True)) / len(ids)
        assert 0.45 <= agreement <= 0.55  # independent halves agree about half of the time


def test_without_a_challenger_everyone_is_champion() -> None:
    (standard,) = DEFAULT_RULER.segments
    assert standard.challenger is None
    assert {variant_of(standard, TENANT, "default", d) for d in debtor_ids(seed=9, n=1_000)} == {"champion"}
    no_challenger = segment_with(None)
    assert {variant_of(no_challenger, TENANT, "default", d) for d in debtor_ids(seed=9, n=100)} == {"champion"}
