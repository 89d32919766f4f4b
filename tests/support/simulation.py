"""A property-based simulation of a random portfolio through the real platform, and its oracles.

A seeded random portfolio (people with a valid CPF, each registered at two or three client companies as
separate debtors, invoices due over the first weeks, states among SP/RJ/ES/AL/AM/PE/BA) lives through N
simulated days: one clock move a day at a random hour (night and Sunday moves included), agents working the
call queue, payments, disputes opened and answered, promises to pay, agreements kept or broken, and late
commands (contact commands re-published days later, as a backlog or a dead-letter replay would).

The oracles read only what went out (regua.contacts.v1, regua.cases.v1 and the agents' own log of the calls
they made) and judge it against rules written here from DOMAIN.md, independently of the platform's code
(no regua_compliance, no service module): a small table of contact hours by state, a small table of time
zones by state, national holidays from the `holidays` package. Events are read as plain JSON."""

import asyncio
import json
import os
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.support.client import Platform, eventually
from tests.support.providers import Providers

# --- the rules, from DOMAIN.md -------------------------------------------------------------------------------

SP_ZONE = ZoneInfo("America/Sao_Paulo")
#: Each state's time zone (the whole state: the portfolio has no Fernando de Noronha or western Amazonas).
STATE_ZONE = {"SP": ZoneInfo("America/Sao_Paulo"), "RJ": ZoneInfo("America/Sao_Paulo"),
              "ES": ZoneInfo("America/Sao_Paulo"), "AL": ZoneInfo("America/Maceio"),
              "AM": ZoneInfo("America/Manaus"), "PE": ZoneInfo("America/Recife"), "BA": ZoneInfo("America/Bahia")}
STATES = tuple(STATE_ZONE)
DDD = {"SP": 11, "RJ": 21, "ES": 27, "AL": 82, "AM": 92, "PE": 81, "BA": 71}
Window = tuple[int, int] | None
#: (weekdays, Saturday) in whole hours, local time; Sunday and national holidays never.
DEFAULT_HOURS: tuple[Window, Window] = ((8, 20), (8, 14))
STATE_HOURS: dict[str, tuple[Window, Window]] = {"SP": ((8, 20), (8, 14)), "RJ": ((9, 19), None),
                                                 "ES": ((8, 19), None), "AL": ((8, 20), (8, 14))}
NATIONAL_HOLIDAYS = holidays.country_holidays("BR", years=range(2025, 2031))  # national only: no state
CALLS_PER_7_DAYS = 7
QUIET_AFTER_CONVERSATION = timedelta(days=7)
CONVERSATIONS = frozenset({"conversation_held", "promise_to_pay", "refused"})
#: Answers to what the debtor just did: rule 1 exempts the thank-you (it follows the stop), rule 2 the
#: agreement confirmation (it follows the agreement's pause). Thank-yous still keep to contact hours (rule 3);
#: agreement confirmations go at once, by design (README), and are counted apart.
THANK_YOU, AGREEMENT = "thank-you", "agreement"


def within_contact_hours(moment: datetime, state: str) -> bool:
    """May the debtor of ``state`` be contacted at ``moment``? (the boundaries themselves count as inside)"""
    local = moment.astimezone(STATE_ZONE[state])
    if local.weekday() == 6 or local.date() in NATIONAL_HOLIDAYS:
        return False
    weekdays, saturday = STATE_HOURS.get(state, DEFAULT_HOURS)
    window = saturday if local.weekday() == 5 else weekdays
    if window is None:
        return False
    minutes = local.hour * 60 + local.minute + local.second / 60
    return window[0] * 60 <= minutes <= window[1] * 60


# --- the portfolio -------------------------------------------------------------------------------------------

def make_cpf(rng: random.Random) -> str:
    """A valid CPF (two mod-11 check digits), never all digits equal."""
    while len(set(base := [rng.randint(0, 9) for _ in range(9)])) == 1:
        pass
    for weight in (10, 11):
        rest = sum(d * w for d, w in zip(base, range(weight, 1, -1), strict=False)) % 11
        base.append(0 if rest < 2 else 11 - rest)
    return "".join(map(str, base))


@dataclass
class Person:
    index: int
    cpf: str
    name: str
    state: str
    phone: str
    email: str


@dataclass
class Invoice:
    tenant: int
    person: int
    external_id: str
    amount_cents: int
    due: date
    id: str = ""
    debtor_id: str = ""
    closed: bool = False  # paid in full, or a dispute upheld
    paid_cents: int = 0
    dispute_answer: tuple[int, str] | None = None  # (day, outcome) of an open dispute
    agreement: str | None = None  # an agreement holding it


@dataclass(frozen=True)
class Interval:
    invoice_id: str
    start: datetime
    end: datetime | None  # None: until the end of the run
    why: str


@dataclass(frozen=True)
class Call:
    seq: int
    at: datetime  # the world's (simulated) time when the agent made the call
    person: int
    tenant: int
    call_id: str
    debtor_id: str
    invoice_ids: tuple[str, ...]
    step: str
    outcome: str


@dataclass
class Config:
    # The suite's default keeps CI within its budget (about 3 minutes); REGUA_SIM_PEOPLE / REGUA_SIM_DAYS run
    # the large simulation (docs/PERFORMANCE.md and the closing notes give its figures).
    seed: int = 20270301
    people: int = 60
    days: int = 35
    tenants: int = 4
    pay_rate: float = 0.006  # per open invoice per day
    dispute_rate: float = 0.003
    agreements_per_day: float = 0.01  # per person
    replays_per_day: float = 0.01  # per person
    fault_share: float = 0.02  # people whose SMS provider fails for a few days (their commands dead-letter)

    @classmethod
    def from_env(cls) -> "Config":
        return cls(seed=int(os.environ.get("REGUA_SIM_SEED", cls.seed)),
                   people=int(os.environ.get("REGUA_SIM_PEOPLE", cls.people)),
                   days=int(os.environ.get("REGUA_SIM_DAYS", cls.days)))


RULER = """\
name: default
segments:
  - name: all
    steps:
      - {key: D-3, offset_days: -3, send: [email], template: reminder, tone: friendly}
      - {key: D-1, offset_days: -1, send: [[sms, whatsapp, email]], template: reminder, tone: friendly}
      - {key: D+1, offset_days: 1, send: [email, [whatsapp, sms]], template: notice, tone: informative}
      - {key: D+3, offset_days: 3, send: [phone], template: agent_call, tone: cordial}
      - {key: D+5, offset_days: 5, send: [[sms, whatsapp, email]], template: notice, tone: informative}
      - {key: D+7, offset_days: 7, send: [phone], template: agent_call, tone: cordial}
      - {key: D+10, offset_days: 10, send: [[whatsapp, sms], email], template: negotiation, tone: cordial}
      - {key: D+12, offset_days: 12, send: [phone], template: negotiation, tone: cordial}
      - {key: D+20, offset_days: 20, send: [[sms, whatsapp], email], template: negotiation, tone: firm}
      - {key: D+25, offset_days: 25, send: [phone], template: agent_call, tone: firm}
      - {key: D+35, offset_days: 35, send: [email, [sms, whatsapp]], template: notice, tone: firm}
      - {key: D+45, offset_days: 45, send: [phone], template: agent_call, tone: firm}
"""
POLICY = {"discounts": [{"fine_pct": 100, "interest_pct": 100}], "max_installments": 2,
          "min_installment_cents": 1000, "break_tolerance_days": 3, "pix_key": "pix@credor.example",
          "merchant_name": "Credor Simulado", "merchant_city": "São Paulo"}
BREAK_TOLERANCE = timedelta(days=3)
CREDITORS = [("Energia Horizonte Ltda", "11222333000181"), ("Escola Saber Viver S.A.", "11444777000161"),
             ("Telefonia Fala Mais Ltda", "11222333000181"), ("Loja Bom Preço Ltda", "11444777000161"),
             ("Academia Corpo Leve Ltda", "11222333000181"), ("Ótica Visão Clara Ltda", "11444777000161")]
FIRST = "Ana Bruno Carla Daniel Eduarda Felipe Gabriela Henrique Isabela João Larissa Lucas Mariana".split()
LAST = "Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Costa Ribeiro Martins".split()


def portfolio(rng: random.Random, config: Config, start: date) -> tuple[list[Person], list[Invoice]]:
    people: list[Person] = []
    phones: set[str] = set()
    cpfs: set[str] = set()
    invoices: list[Invoice] = []
    for n in range(config.people):
        state = rng.choice(STATES)
        while (document := make_cpf(rng)) in cpfs:
            pass
        cpfs.add(document)
        while True:  # a unique mobile, never ending in 9999 (the provider double refuses those)
            number = rng.randint(10_000_000, 99_999_998)
            phone = f"+55{DDD[state]}9{number:08d}"
            if number % 10_000 != 9_999 and phone not in phones:
                break
        phones.add(phone)
        people.append(Person(n, document, f"{rng.choice(FIRST)} {rng.choice(LAST)}", state, phone,
                             f"sim{config.seed}.p{n}@example.com"))
        for tenant in sorted(rng.sample(range(config.tenants), rng.choice((2, 2, 3)))):
            for k in range(rng.choice((1, 1, 2))):
                amount = rng.choice((rng.randint(5_000, 60_000), rng.randint(5_000, 60_000),
                                     rng.randint(60_000, 400_000)))
                invoices.append(Invoice(tenant, n, f"SIM{config.seed}-{n}-{tenant}-{k}", amount,
                                        start + timedelta(days=rng.randint(2, 24))))
    return people, invoices


# --- Kafka, read and written directly ------------------------------------------------------------------------

CONTACTS, CASES, AGREEMENTS, CLOCK = "regua.contacts.v1", "regua.cases.v1", "regua.agreements.v1", "regua.clock.v1"
COMMANDS = tuple(f"regua.contact-commands.{c}.v1" for c in ("email", "sms", "whatsapp", "phone"))
OFFER_COMMANDS, INVOICES = "regua.offer-commands.v1", "regua.invoices.v1"
TAPPED = (CONTACTS, CASES, AGREEMENTS, *COMMANDS, *(f"{t}.dlq" for t in COMMANDS))
WATCHED = (CLOCK, CASES, CONTACTS, AGREEMENTS, OFFER_COMMANDS, INVOICES, *COMMANDS)
CLOCK_FOLLOWER = re.compile(r"^(dispatch-[a-z]+)-clock-[0-9a-f]+$")


@dataclass(frozen=True)
class Seen:
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    window: int  # the clock move after which it was read
    body: dict[str, Any]


class Tap:
    """Reads the tapped topics incrementally (no consumer group), tells when every consumer group has caught
    up, and re-publishes records. Runs on its own event loop, driven from the (synchronous) test."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.loop = asyncio.new_event_loop()
        self.records: list[Seen] = []
        self.partitions: list[TopicPartition] = []
        self.watched: list[TopicPartition] = []
        self.consumer, self.producer, self.admin = self.loop.run_until_complete(self._clients())
        self.loop.run_until_complete(self._start())

    async def _clients(self) -> tuple[AIOKafkaConsumer, AIOKafkaProducer, AIOKafkaAdminClient]:
        """Made inside the loop they run on."""
        return (AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                 max_partition_fetch_bytes=8 * 1024 * 1024),
                AIOKafkaProducer(bootstrap_servers=self.bootstrap, max_request_size=8 * 1024 * 1024),
                AIOKafkaAdminClient(bootstrap_servers=self.bootstrap))

    async def _start(self) -> None:
        await self.consumer.start()
        await self.producer.start()
        await self.admin.start()
        await self.consumer.topics()
        for topic in TAPPED:
            self.partitions += [TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic)
                                                                          or ())]
        for topic in WATCHED:
            self.watched += [TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic)
                                                                       or ())]
        self.consumer.assign(self.partitions)
        await self.consumer.seek_to_beginning(*self.partitions)

    def close(self) -> None:
        async def stop() -> None:
            await self.consumer.stop()
            await self.producer.stop()
            await self.admin.close()
        self.loop.run_until_complete(stop())
        self.loop.close()

    def poll(self, window: int) -> list[Seen]:
        """Everything new on the tapped topics, up to their end offsets now."""
        return self.loop.run_until_complete(self._poll(window))

    async def _poll(self, window: int) -> list[Seen]:
        ends = await self.consumer.end_offsets(self.partitions)
        new: list[Seen] = []
        deadline = time.monotonic() + 120
        while any([await self.consumer.position(tp) < ends[tp] for tp in self.partitions]):
            assert time.monotonic() < deadline, "the tapped topics could not be read to their end"
            for tp, batch in (await self.consumer.getmany(timeout_ms=200, max_records=5000)).items():
                for r in batch:
                    try:
                        body = json.loads(r.value) if r.value else {}
                    except ValueError:
                        body = {}
                    new.append(Seen(tp.topic, r.key, r.value or b"", tuple(r.headers), window,
                                    body if isinstance(body, dict) else {}))
        self.records += new
        return new

    def behind(self) -> int:
        """How many records the platform's consumer groups have still to read on the topics they follow."""
        return self.loop.run_until_complete(self._behind())

    async def _behind(self) -> int:
        ends = await self.consumer.end_offsets(self.watched)
        groups = [g[0] for g in await self.admin.list_consumer_groups()]
        every = await asyncio.gather(*(self.admin.list_consumer_group_offsets(g, partitions=self.watched)
                                       for g in groups))
        lag = 0
        # A dispatcher follows the simulated clock in a group of its own per process: a process restarted by an
        # earlier test left its group behind for good. The newest follower per channel is the one that counts.
        clock_lag: dict[str, int] = {}
        for group, committed in zip(groups, every, strict=True):
            followed = {tp.topic for tp, meta in committed.items() if meta.offset >= 0}
            behind = sum(max(0, ends[tp] - (meta.offset if (meta := committed.get(tp)) is not None
                                            and meta.offset >= 0 else 0))
                         for tp in self.watched if tp.topic in followed)
            follower = CLOCK_FOLLOWER.match(group)
            if follower:
                clock_lag[follower.group(1)] = min(behind, clock_lag.get(follower.group(1), behind))
            else:
                lag += behind
        return lag + sum(clock_lag.values())

    def republish(self, records: Iterable[Seen]) -> int:
        async def send() -> int:
            n = 0
            for r in records:
                topic = r.topic.removesuffix(".dlq")
                headers = [(k, v) for k, v in r.headers if not k.startswith("x-dlq")]
                await self.producer.send_and_wait(topic, r.value, key=r.key, headers=headers)
                n += 1
            return n
        return self.loop.run_until_complete(send())


# --- the simulation ------------------------------------------------------------------------------------------

def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class World:
    """What the simulation did, as the world knows it (the oracles' other source)."""

    config: Config
    people: list[Person]
    invoices: list[Invoice]
    debtor_person: dict[str, int] = field(default_factory=dict)
    debtor_tenant: dict[str, int] = field(default_factory=dict)
    invoice_by_id: dict[str, Invoice] = field(default_factory=dict)
    moves: list[datetime] = field(default_factory=list)  # the clock after each move (window i)
    calls: list[Call] = field(default_factory=list)
    pauses: list[Interval] = field(default_factory=list)  # pauses the world knows must hold
    counts: Counter[str] = field(default_factory=Counter)
    seen: list[Seen] = field(default_factory=list)
    elapsed: float = 0.0


class Simulation:
    def __init__(self, platform: Platform, config: Config) -> None:
        self.platform = platform
        self.config = config
        self.rng = random.Random(config.seed)
        assert platform.stack.bootstrap
        self.tap = Tap(platform.stack.bootstrap)
        self.providers = Providers(platform.stack)
        self.keys: list[str] = []
        self.ruler = platform.stack.url("ruler")
        self.negotiation = platform.stack.url("negotiation")
        self.http = httpx.Client(timeout=60)
        self.now = platform.now()
        self.window = 0
        self.scheduled: dict[int, list[tuple[str, str, int]]] = defaultdict(list)  # day -> (invoice, why, cents)
        self.replay_at: dict[int, list[Seen]] = defaultdict(list)
        self.faults: dict[int, list[tuple[str, bool]]] = defaultdict(list)  # day -> (phone, on)
        self.world: World | None = None
        self.dlq_scanned = 0

    # -- setup --
    def setup(self) -> World:
        start = (self.now.astimezone(SP_ZONE) + timedelta(days=1)).date()
        self.start = start
        people, invoices = portfolio(self.rng, self.config, start)
        world = World(self.config, people, invoices)
        self.world = world
        for n in range(self.config.tenants):
            name, cnpj = CREDITORS[n % len(CREDITORS)]
            _, key = self.platform.new_tenant(f"{name} #{self.config.seed % 1000}-{n}", cnpj,
                                              "Av. Paulista, 1000, São Paulo - SP")
            r = self.http.put(f"{self.ruler}/v1/rulers/default", content=RULER,
                              headers={"X-API-Key": key, "content-type": "application/yaml"})
            assert r.status_code == 201, r.text
            for service in ("negotiation", "dispatch-email", "dispatch-sms", "dispatch-whatsapp", "dispatch-phone"):
                self.platform.wait_tenant_known(service, key)
            r = self.http.put(f"{self.negotiation}/v1/negotiation-policy", json=POLICY, headers={"X-API-Key": key})
            assert r.status_code == 201, r.text
            self.keys.append(key)
        before = sum(self.platform.stats()["cases"].values())
        for tenant, key in enumerate(self.keys):
            mine = [i for i in invoices if i.tenant == tenant]
            for chunk in range(0, len(mine), 1000):
                batch = mine[chunk:chunk + 1000]
                body = [{"external_id": i.external_id, "amount_cents": i.amount_cents, "due_date": i.due.isoformat(),
                         "debtor": {"document": people[i.person].cpf, "name": people[i.person].name,
                                    "state": people[i.person].state, "phone": people[i.person].phone,
                                    "email": people[i.person].email}} for i in batch]
                r = self.http.post(f"{self.platform.stack.url('ingestion')}/v1/invoices", json={"invoices": body},
                                   headers={"X-API-Key": key})
                assert r.status_code == 201, r.text
                for inv, out in zip(batch, r.json()["invoices"], strict=True):
                    assert out["external_id"] == inv.external_id
                    inv.id, inv.debtor_id = out["id"], out["debtor_id"]
                    world.invoice_by_id[inv.id] = inv
                    world.debtor_person[inv.debtor_id] = inv.person
                    world.debtor_tenant[inv.debtor_id] = inv.tenant
        eventually(lambda: sum(self.platform.stats()["cases"].values()) >= before + len(invoices), 180, 0.5,
                   what="every case to open")
        faulty = self.rng.sample(people, k=int(len(people) * self.config.fault_share))
        for p in faulty:
            day = self.rng.randint(0, max(0, min(30, self.config.days - 5)))
            self.faults[day].append((p.phone, True))
            self.faults[day + 4].append((p.phone, False))
        return world

    # -- time --
    def set_clock(self, at: datetime) -> None:
        assert self.world is not None
        r = self.http.post(f"{self.ruler}/admin/clock", headers=self.platform.admin, json={"now": at.isoformat()})
        assert r.status_code == 200, r.text
        r = self.http.post(f"{self.negotiation}/admin/clock", headers=self.platform.admin,
                           json={"now": at.isoformat()})
        assert r.status_code in (200, 422), r.text
        self.now = at
        self.window += 1
        self.world.moves.append(at)

    def settle(self, timeout: float | None = None) -> None:
        """Until the ruler has fired every due step and every consumer group has read everything, twice. A
        larger portfolio has more to do per simulated day: the patience grows with it."""
        deadline = time.monotonic() + (timeout or max(60.0, self.config.people / 10))
        quiet = 0
        while quiet < 2:
            if time.monotonic() > deadline:
                assert self.world is not None
                self.world.counts["settle timeouts (went on)"] += 1
                assert self.world.counts["settle timeouts (went on)"] < 3, (
                    "the platform stopped making progress (a consumer group stays behind, or the ruler keeps due "
                    "steps): see the session's logs")
                break
            due = self.http.get(f"{self.ruler}/admin/clock", headers=self.platform.admin).json()["due_steps"]
            quiet = quiet + 1 if due == 0 and self.tap.behind() == 0 else 0
            time.sleep(0.1)
        assert self.world is not None
        self.world.seen += self.tap.poll(self.window)

    # -- the days --
    def run(self) -> World:
        began = time.monotonic()
        world = self.setup()
        rng = self.rng
        for day in range(self.config.days):
            local_day = self.start + timedelta(days=day)
            minute = rng.randint(6 * 60, 23 * 60 + 30)
            at = datetime.combine(local_day, clock_time(minute // 60, minute % 60), SP_ZONE).astimezone(UTC)
            for phone, on in self.faults.pop(day, []):
                self.providers.fault("sms", phone, 503 if on else None)
                world.counts["provider faults set" if on else "provider faults cleared"] += 1
            self.set_clock(at)
            self.settle()
            self.agents(day)
            acted = sum(world.counts.values())
            self.actions(day, local_day)
            late = self.late_commands(day)
            if late or sum(world.counts.values()) != acted:
                self.settle()  # the platform knows what the debtors did before any late command arrives
            if late:
                self.set_clock(at + timedelta(minutes=2))
                self.replays(late)
                self.settle()
        for phone in [p for changes in self.faults.values() for p, on in changes if not on]:
            self.providers.fault("sms", phone, None)
        self.settle()
        self.tap.close()
        self.http.close()
        world.elapsed = time.monotonic() - began
        return world

    def agents(self, day: int) -> None:
        assert self.world is not None
        rng = self.rng
        for tenant, key in enumerate(self.keys):
            calls = f"{self.platform.stack.url('dispatch-phone')}/v1/calls"
            agent = self.platform.operator(key, f"sim-{tenant}")  # the staff token names the agent
            for _ in range(500):
                r = self.http.post(f"{calls}/next", headers=agent)
                if r.status_code == 204:
                    break
                assert r.status_code == 200, r.text
                task = r.json()
                outcome = rng.choices(("no_answer", "conversation_held", "promise_to_pay", "refused", "callback",
                                       "wrong_number"), (35, 20, 18, 10, 12, 2))[0]
                body: dict[str, Any] = {"outcome": outcome}
                today = self.now.astimezone(SP_ZONE).date()
                if outcome == "promise_to_pay":
                    body |= {"promise_date": (today + timedelta(days=rng.randint(2, 7))).isoformat(),
                             "promise_amount_cents": task["total_cents"]}
                if outcome == "callback":
                    body["callback_at"] = (self.now + timedelta(hours=rng.choice((2, 20, 26)))).isoformat()
                done = self.http.post(f"{calls}/{task['call_id']}/outcome", json=body, headers=agent)
                if done.status_code == 422:  # e.g. the dispatcher's own clock disagrees: no promise then
                    body = {"outcome": "no_answer"}
                    outcome = "no_answer"
                    done = self.http.post(f"{calls}/{task['call_id']}/outcome", json=body, headers=agent)
                assert done.status_code == 200, done.text
                invoice_ids = tuple(str(i["invoice_id"]) for i in task["invoices"])
                person = self.world.debtor_person[task["debtor_id"]]
                self.world.calls.append(Call(len(self.world.calls), self.now, person, tenant, task["call_id"],
                                             task["debtor_id"], invoice_ids, task["step"], outcome))
                self.world.counts[f"calls: {outcome}"] += 1
                if outcome == "promise_to_pay":
                    self.world.counts["promises"] += 1
                    promised = date.fromisoformat(body["promise_date"])
                    until = datetime.combine(promised, clock_time(0), SP_ZONE).astimezone(UTC)
                    for i in invoice_ids:
                        self.world.pauses.append(Interval(i, self.now, until, "promise"))
                    if rng.random() < 0.5:  # kept: paid on the promised day
                        for i in invoice_ids:
                            self.scheduled[day + (promised - today).days].append((i, "promise kept", 0))

    def pay(self, inv: Invoice, cents: int, why: str) -> bool:
        assert self.world is not None
        r = self.http.post(f"{self.platform.stack.url('ingestion')}/v1/invoices/{inv.id}/payments",
                           json={"amount_cents": cents}, headers={"X-API-Key": self.keys[inv.tenant]})
        if r.status_code != 201:
            self.world.counts[f"payments refused ({why})"] += 1
            return False
        inv.paid_cents += cents
        if inv.paid_cents >= inv.amount_cents:
            inv.closed = True
            self.world.counts["invoices paid in full"] += 1
        self.world.counts[f"payments ({why})"] += 1
        return True

    def actions(self, day: int, local_day: date) -> None:
        assert self.world is not None
        world, rng = self.world, self.rng
        for invoice_id, why, cents in self.scheduled.pop(day, []):
            inv = world.invoice_by_id[invoice_id]
            if not inv.closed:
                self.pay(inv, cents or inv.amount_cents - inv.paid_cents, why)
        for inv in world.invoices:
            if inv.closed:
                continue
            key = self.keys[inv.tenant]
            if inv.dispute_answer is not None and inv.dispute_answer[0] == day:
                outcome = inv.dispute_answer[1]
                r = self.http.post(f"{self.ruler}/v1/invoices/{inv.id}/disputes/answer", json={"outcome": outcome},
                                   headers=self.platform.operator(key, "sim-supervisor", "supervisor"))
                inv.dispute_answer = None
                if r.status_code == 200:
                    world.counts[f"disputes answered {outcome}"] += 1
                    self._end_pause(inv.id, "dispute")
                    if outcome == "upheld":
                        inv.closed = True
                        world.pauses.append(Interval(inv.id, self.now, None, "dispute upheld"))
                else:
                    world.counts[f"dispute answers refused ({r.status_code})"] += 1
                continue
            if inv.agreement is None and rng.random() < self.config.pay_rate:
                self.pay(inv, inv.amount_cents - inv.paid_cents, "random")
            elif inv.dispute_answer is None and inv.agreement is None and rng.random() < self.config.dispute_rate:
                r = self.http.post(f"{self.ruler}/v1/invoices/{inv.id}/disputes",
                                   json={"reason": "Não reconheço esta dívida"}, headers={"X-API-Key": key})
                if r.status_code == 201:
                    world.counts["disputes opened"] += 1
                    inv.dispute_answer = (day + rng.randint(3, 12), rng.choice(("upheld", "rejected")))
                    world.pauses.append(Interval(inv.id, self.now, None, "dispute"))
                else:
                    world.counts[f"disputes refused ({r.status_code})"] += 1
        for _ in range(sum(rng.random() < self.config.agreements_per_day for _ in range(len(world.people)))):
            self.agreement(day, local_day)

    def _end_pause(self, invoice_id: str, why: str) -> None:
        assert self.world is not None
        for n, p in enumerate(self.world.pauses):
            if p.invoice_id == invoice_id and p.why == why and p.end is None:
                self.world.pauses[n] = Interval(p.invoice_id, p.start, self.now, p.why)

    def agreement(self, day: int, local_day: date) -> None:
        """An agent accepts the two-installment offer for a debtor with one open overdue invoice; some debtors
        pay the installments on their due dates, the others pay nothing (the agreement breaks)."""
        assert self.world is not None
        world, rng = self.world, self.rng
        by_debtor: dict[str, list[Invoice]] = defaultdict(list)
        for inv in world.invoices:
            if not inv.closed:
                by_debtor[inv.debtor_id].append(inv)
        candidates = sorted(d for d, invs in by_debtor.items() if len(invs) == 1 and invs[0].due < local_day
                            and invs[0].dispute_answer is None and invs[0].agreement is None
                            and invs[0].paid_cents == 0)
        if not candidates:
            return
        inv = by_debtor[rng.choice(candidates)][0]
        key = self.keys[inv.tenant]
        r = self.http.get(f"{self.negotiation}/v1/debtors/{inv.debtor_id}/offers", headers={"X-API-Key": key})
        offers = r.json().get("offers", []) if r.status_code == 200 else []
        fitting = [o for o in offers if o["invoice_ids"] == [inv.id] and o["installments"] == 2]
        if not fitting:
            world.counts["agreements: no fitting offer"] += 1
            return
        r = self.http.post(f"{self.negotiation}/v1/offers/{fitting[0]['offer_id']}/accept",
                           headers=self.platform.operator(key, "sim-agent"))
        if r.status_code != 201:
            world.counts[f"agreements refused ({r.status_code})"] += 1
            return
        made = r.json()
        inv.agreement = made["agreement_id"]
        installments = made["installments"]
        if rng.random() < 0.6:
            world.counts["agreements (kept)"] += 1
            for i in installments:  # on its due date, or tomorrow (today's payments are made)
                due = date.fromisoformat(i["due_date"])
                self.scheduled[day + max(1, (due - local_day).days)].append((inv.id, "installment", i["amount_cents"]))
            last_due = date.fromisoformat(installments[-1]["due_date"])
            until = datetime.combine(last_due + BREAK_TOLERANCE, clock_time(0), SP_ZONE).astimezone(UTC)
            world.pauses.append(Interval(inv.id, self.now, until, "agreement kept"))
        else:
            world.counts["agreements (broken)"] += 1
            first_due = date.fromisoformat(installments[0]["due_date"])
            until = datetime.combine(first_due + BREAK_TOLERANCE, clock_time(0), SP_ZONE).astimezone(UTC)
            world.pauses.append(Interval(inv.id, self.now, until, "agreement (to break)"))

    def late_commands(self, day: int) -> list[Seen]:
        """Today's late commands: a few contact commands sent days ago, and the dead-lettered ones."""
        assert self.world is not None
        world, rng = self.world, self.rng
        for r in [s for s in world.seen[self.dlq_scanned:] if s.topic.endswith(".dlq")]:
            self.replay_at[day + rng.randint(1, 8)].append(r)
        self.dlq_scanned = len(world.seen)
        due = self.replay_at.pop(day, [])
        old = [s for s in world.seen if s.topic in COMMANDS and "occurred_at" in s.body
               and parse_time(s.body["occurred_at"]) < self.now - timedelta(days=2)]
        k = sum(rng.random() < self.config.replays_per_day for _ in range(len(world.people)))
        picked = rng.sample(old, k=min(k, len(old))) if old else []
        world.counts["late replays (backlog)"] += len(picked)
        world.counts["late replays (dead letters)"] += len(due)
        return picked + due

    def replays(self, late: list[Seen]) -> None:
        """Publishes the late commands again, as a backlog or a dead-letter replay would."""
        self.tap.republish(late)


# --- the oracles ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sent:
    at: datetime
    window: int
    channel: str
    step_key: str
    step_id: str
    debtor_id: str
    invoice_ids: tuple[str, ...]
    tenant_id: str


@dataclass
class Verdict:
    counts: Counter[str]
    violations: dict[str, list[str]]

    def summary(self, limit: int = 8) -> str:
        lines = [f"  {k}: {v}" for k, v in sorted(self.counts.items())]
        lines.append("violations per rule:")
        lines += [f"  {rule}: {len(found)}" for rule, found in self.violations.items()]
        for rule, found in self.violations.items():
            if found:
                lines.append(f"first violations of {rule}:")
                lines += [f"    {v}" for v in found[:limit]]
        return "\n".join(lines)


def judge(world: World) -> Verdict:
    counts: Counter[str] = Counter(world.counts)
    counts["people"] = len(world.people)
    counts["debtors"] = len(world.debtor_person)
    counts["invoices"] = len(world.invoices)
    counts["days"] = world.config.days
    counts["seed"] = world.config.seed
    counts["runtime seconds"] = int(world.elapsed)
    state_of = {d: world.people[p].state for d, p in world.debtor_person.items()}
    mine = set(world.debtor_person)
    sent: list[Sent] = []
    commanded: dict[str, datetime] = {}
    stopped: dict[str, datetime] = {}
    paused: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    opened: dict[str, datetime] = {}
    outcome_events: dict[str, list[datetime]] = defaultdict(list)
    for s in world.seen:
        b = s.body
        if s.topic in COMMANDS and b.get("recipient", {}).get("debtor_id") in mine:
            commanded.setdefault(b["step_id"], parse_time(b["occurred_at"]))
            counts[f"commands on {s.topic.split('.')[2]}"] += 1
        elif s.topic.endswith(".dlq"):
            counts[f"dead-lettered on {s.topic.split('.')[2]}"] += 1
        elif s.topic == CONTACTS and b.get("debtor_id") in mine:
            if b.get("type") == "contact.attempted.v1":
                counts[f"attempts {b['channel']} {b['outcome']}"] += 1
                if b["outcome"] == "sent":
                    sent.append(Sent(parse_time(b["occurred_at"]), s.window, b["channel"], b["step_key"],
                                     b["step_id"], b["debtor_id"], tuple(b["invoice_ids"]), b["tenant_id"]))
                elif b["outcome"] == "suppressed":
                    counts[f"suppressed: {str(b.get('reason', ''))[:40]}"] += 1
            elif b.get("type") == "call.outcome-recorded.v1":
                outcome_events[b["step_id"]].append(parse_time(b["called_at"]))
        elif s.topic == CASES and b.get("debtor_id") in mine:
            inv, at, kind = b["invoice_id"], parse_time(b["occurred_at"]), b.get("type", "")
            counts[f"case events {kind}"] += 1
            if kind == "case.stopped.v1":
                stopped.setdefault(inv, at)
            if kind == "case.paused.v1" and inv not in opened:
                opened[inv] = at
            if kind in ("case.resumed.v1", "case.stopped.v1") and inv in opened:
                paused[inv].append((opened.pop(inv), at))
        elif s.topic == AGREEMENTS and b.get("debtor_id") in mine:
            counts[f"agreement events {b.get('type', '')}"] += 1
    for inv, start in opened.items():
        paused[inv].append((start, None))
    for c in sent:
        counts[f"sent {c.channel}"] += 1
        if c.step_id in commanded and c.at - commanded[c.step_id] > timedelta(minutes=15):
            counts["sent later than commanded (held)"] += 1
    counts["calls made"] = len(world.calls)

    v: dict[str, list[str]] = {"R1 contact after stop": [], "R2 contact while paused (case events)": [],
                               "R2b contact while paused (world: dispute/promise/agreement)": [],
                               "R3 outside contact hours": [], "R4 call caps per person": [],
                               "R5 send time not the world's": []}

    def where(debtor_id: str, at: datetime) -> str:
        state = state_of[debtor_id]
        return f"{at.astimezone(STATE_ZONE[state]):%a %Y-%m-%d %H:%M} {state}"

    # Calls as contacts: when the agent made them, about which invoices.
    contacts = [*sent, *(Sent(c.at, 0, "phone", c.step, c.call_id, c.debtor_id, c.invoice_ids, "")
                        for c in world.calls)]
    for c in contacts:
        what = f"{c.channel} {c.step_key} step {c.step_id} debtor {c.debtor_id} at {where(c.debtor_id, c.at)}"
        for inv in c.invoice_ids:
            if c.step_key != THANK_YOU and inv in stopped and c.at > stopped[inv]:
                v["R1 contact after stop"].append(f"{what}: invoice {inv} stopped at {stopped[inv]:%Y-%m-%d %H:%M}Z")
            if c.step_key in (THANK_YOU, AGREEMENT) or (inv in stopped and c.at > stopped[inv]):
                continue  # an answer to the debtor, or R1's
            for start, end in paused.get(inv, []):
                if start < c.at and (end is None or c.at < end):
                    v["R2 contact while paused (case events)"].append(
                        f"{what}: invoice {inv} paused {start:%Y-%m-%d %H:%M}Z..{end or 'end'}")
            for p in world.pauses:
                if p.invoice_id == inv and p.start < c.at and (p.end is None or c.at < p.end):
                    v["R2b contact while paused (world: dispute/promise/agreement)"].append(
                        f"{what}: invoice {inv} {p.why} since {p.start:%Y-%m-%d %H:%M}Z")
        if not within_contact_hours(c.at, state_of[c.debtor_id]):
            if c.step_key == AGREEMENT:  # the debtor just accepted: confirmed at once, by design (README)
                counts["agreement confirmations outside contact hours (not asserted)"] += 1
            else:
                v["R3 outside contact hours"].append(what)
    # R4: per person, across creditors, in the order the agents made the calls.
    by_person: dict[int, list[Call]] = defaultdict(list)
    for call in world.calls:
        by_person[call.person].append(call)
    for person, calls in by_person.items():
        for n, call in enumerate(calls):
            recent = [c for c in calls[:n + 1] if call.at - c.at < timedelta(days=7)]
            if len(recent) > CALLS_PER_7_DAYS:
                v["R4 call caps per person"].append(
                    f"person {person} ({world.people[person].cpf[:3]}***) call {len(recent)} in 7 days at "
                    f"{where(call.debtor_id, call.at)} (debtor {call.debtor_id}, call {call.call_id})")
            talked = [c for c in calls[:n] if c.outcome in CONVERSATIONS and call.at - c.at < QUIET_AFTER_CONVERSATION]
            if talked:
                t = talked[-1]
                v["R4 call caps per person"].append(
                    f"person {person} called at {where(call.debtor_id, call.at)} (debtor {call.debtor_id}, call "
                    f"{call.call_id}) {call.at - t.at} after a conversation ({t.outcome}, debtor {t.debtor_id})")
    # R5: the platform's times are the world's (an oracle on times is only as good as they are).
    for c in sent:
        floor = world.moves[c.window - 2] if c.window >= 2 else None
        if floor is not None and c.at < floor - timedelta(minutes=1):
            v["R5 send time not the world's"].append(
                f"{c.channel} {c.step_key} step {c.step_id} debtor {c.debtor_id}: recorded as sent at "
                f"{c.at:%Y-%m-%d %H:%M}Z, read after the clock was at {floor:%Y-%m-%d %H:%M}Z")
    for call in world.calls:
        times = outcome_events.get(call.call_id, [])
        if times and not any(abs(t - call.at) <= timedelta(minutes=1) for t in times):
            v["R5 send time not the world's"].append(
                f"call {call.call_id} made at {call.at:%Y-%m-%d %H:%M}Z recorded at "
                f"{', '.join(f'{t:%Y-%m-%d %H:%M}Z' for t in times)}")
    return Verdict(counts, v)
