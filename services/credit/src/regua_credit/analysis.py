"""The credit service's queries: load from the read model, let the domain decide. Every query is scoped by
tenant, so another tenant's debtor is simply not found."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from regua_credit import store
from regua_credit.bureau import Bureau
from regua_credit.domain import InvoiceFact, InvoiceStatus
from regua_credit.loader import FactsLoader
from regua_credit.offers import OfferLimits, debt_on, offer_limits
from regua_credit.profiles import DebtorProfile, build_profile
from regua_credit.scoring import RULES, Score, Scorer
from regua_platform.clock import Clock

log = logging.getLogger(__name__)


class NotFound(LookupError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


class InvoiceNotOpen(Exception):
    pass


class ScoreModel:
    """The scorer in use: the newest trained model, or the rules before there is one."""

    def __init__(self, scorer: Scorer = RULES) -> None:
        self.current = scorer

    async def refresh(self, pool: asyncpg.Pool) -> None:
        version = await store.newest_model_version(pool)
        if version is None or version == self.current.version:
            return
        model = await store.newest_model(pool)
        if model is not None:
            self.current = model
            log.info("score model loaded", extra={"model_version": model.version})


@dataclass(frozen=True)
class Limits:
    invoice_id: UUID
    limits: OfferLimits
    score: Score
    policy_version: int


class Analyst:
    def __init__(self, pool: asyncpg.Pool, model: ScoreModel, bureau: Bureau, clock: Clock, timezone: str) -> None:
        self._pool = pool
        self._model = model
        self._bureau = bureau
        self._clock = clock
        self._tz = ZoneInfo(timezone)
        self._facts = FactsLoader(self._fetch)

    async def _fetch(self, tenant_id: str, debtor_ids: Sequence[UUID]) -> dict[UUID, list[InvoiceFact]]:
        return await store.debtor_facts(self._pool, tenant_id, debtor_ids, self._tz)

    async def profiles(self, tenant_id: str, debtor_ids: Sequence[UUID]) -> dict[UUID, DebtorProfile]:
        """Profiles of the tenant's debtors among ``debtor_ids``; unknown ones are left out."""
        return await self._profiles(tenant_id, await self._facts.load(tenant_id, debtor_ids))

    async def _profiles(self, tenant_id: str, facts: dict[UUID, list[InvoiceFact]]) -> dict[UUID, DebtorProfile]:
        reports = await self._bureau.reports(tenant_id, list(facts)) if facts else {}  # only debtors we know
        now = self._clock.now()
        today, scorer = now.astimezone(self._tz).date(), self._model.current
        return {d: build_profile(d, f, now, today, scorer, reports.get(d)) for d, f in facts.items()}

    async def offer_limits(self, tenant_id: str, debtor_id: UUID, invoice_id: UUID) -> Limits:
        facts = await self._facts.load(tenant_id, [debtor_id])
        if debtor_id not in facts:
            raise NotFound("debtor_id", "no such debtor")
        invoice = next((f for f in facts[debtor_id] if f.invoice_id == invoice_id), None)
        if invoice is None:
            raise NotFound("invoice_id", "no such invoice of this debtor")
        if invoice.status is not InvoiceStatus.OPEN:
            raise InvoiceNotOpen(f"invoice is {invoice.status}")
        profile = (await self._profiles(tenant_id, facts))[debtor_id]
        policy, version = await store.policy(self._pool, tenant_id)
        debt = debt_on(invoice.outstanding_cents, invoice.due_date, profile.as_of.astimezone(self._tz).date(), policy,
                       invoice.state)
        return Limits(invoice_id, offer_limits(debt, policy, profile.score.value), profile.score, version)
