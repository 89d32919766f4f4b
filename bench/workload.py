"""The records every stage of the benchmark moves: RegisterInvoice commands as a client would produce them."""

import random
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from regua_contracts.client_commands import RegisterInvoice
from regua_contracts.common import NewInvoice
from regua_localstack.portfolio import invoice

# A fixed date and seed: the same run produces the same records (sizes, CPFs, amounts).
AROUND = date(2027, 3, 15)


@dataclass(frozen=True)
class Record:
    key: bytes
    value: bytes


@dataclass(frozen=True)
class Workload:
    records: list[Record]
    seconds_to_build: float

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def value_bytes(self) -> int:
        return sum(len(r.value) for r in self.records)


def build(count: int, seed: int = 2027) -> Workload:
    """Serialised through the contract's own model, so sizes and field order match real commands."""
    started = time.perf_counter()
    rng = random.Random(seed)
    records = []
    for i in range(count):
        external_id = f"BENCH-{i:07d}"
        due = AROUND + timedelta(days=rng.randint(-15, 15))
        data = {**invoice(rng, external_id, due), "due_date": due}  # the model takes dates strictly
        command = RegisterInvoice(command_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                                  invoice=NewInvoice.model_validate(data))
        records.append(Record(external_id.encode(), command.model_dump_json().encode()))
    return Workload(records, time.perf_counter() - started)
