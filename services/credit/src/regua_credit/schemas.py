"""What credit's HTTP API answers: declared in the OpenAPI document (``responses=``), never used to filter."""

from pydantic import BaseModel, Field

from regua_credit.offers import NegotiationPolicy


class TenantPolicy(BaseModel):
    tenant_id: str
    version: int = Field(description="0 and the defaults while the tenant never saved a policy")
    policy: NegotiationPolicy
