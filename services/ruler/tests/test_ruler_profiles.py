"""A batch of case openings asks credit analysis once per tenant (unit: a fake profile source)."""

import uuid
from collections.abc import Sequence
from uuid import UUID

from regua_ruler.domain.profiles import score_band
from regua_ruler.profiles import Profile, Wanted, profiles_by_tenant


class RecordingSource:
    def __init__(self) -> None:
        self.batches: list[tuple[str, list[Wanted]]] = []
        self.single_calls = 0

    async def profile(self, tenant_id: str, debtor_id: UUID, invoice_score: int | None) -> Profile:
        self.single_calls += 1
        return Profile("unknown", score_band(invoice_score), fallback=False)

    async def profiles(self, tenant_id: str, wanted: Sequence[Wanted]) -> list[Profile]:
        self.batches.append((tenant_id, list(wanted)))
        return [Profile("on_time" if tenant_id == "tn_a" else "always_late", score_band(s), fallback=False)
                for _, s in wanted]


async def test_a_burst_of_openings_is_one_lookup_per_tenant_answered_in_order() -> None:
    source = RecordingSource()
    shared = uuid.uuid4()  # one debtor, two invoices carrying different scores
    wanted = [("tn_a" if i % 3 else "tn_b", uuid.uuid4(), 900) for i in range(98)]
    wanted += [("tn_a", shared, 100), ("tn_a", shared, 900)]

    profiles = await profiles_by_tenant(source, wanted)

    assert source.single_calls == 0 and sorted(t for t, _ in source.batches) == ["tn_a", "tn_b"]
    assert sum(len(w) for _, w in source.batches) == 100
    assert [p.behaviour for p in profiles] == ["on_time" if t == "tn_a" else "always_late" for t, _, _ in wanted]
    assert (profiles[-2].score_band, profiles[-1].score_band) == (score_band(100), score_band(900))
