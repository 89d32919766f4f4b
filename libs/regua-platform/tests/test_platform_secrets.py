"""Outside the local stack a service refuses to start with a shipped placeholder or short secret (unit)."""

import pytest
from pydantic import ValidationError

from regua_platform.settings import Settings

STRONG = {"admin_token": "a" * 40, "link_secret": "l" * 40, "staff_token_secret": "s" * 40,
          "pii_keks": "k1:" + "A" * 43 + "=", "pii_index_key": "i" * 40}


def test_production_refuses_the_shipped_defaults_naming_each_variable_never_the_value() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(environment="production", service_name="negotiation")
    message = str(caught.value)
    for variable in ("REGUA_ADMIN_TOKEN", "REGUA_LINK_SECRET", "REGUA_STAFF_TOKEN_SECRET"):
        assert variable in message
    assert "change-me-link-secret" not in message and "change-me-admin-token" not in message


def test_production_refuses_a_short_secret_and_the_local_stacks_values() -> None:
    with pytest.raises(ValidationError, match="REGUA_LINK_SECRET") as caught:
        Settings(environment="production", **{**STRONG, "link_secret": "short-secret"})
    assert "short-secret" not in str(caught.value)
    with pytest.raises(ValidationError, match="REGUA_ADMIN_TOKEN"):
        Settings(environment="production", **{**STRONG, "admin_token": "local-admin-token-of-the-demo"})


def test_the_environment_defaults_to_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGUA_ENVIRONMENT", raising=False)
    with pytest.raises(ValidationError, match="REGUA_ENVIRONMENT=local"):
        Settings()
    assert Settings(**STRONG).environment == "production"


def test_channel_secrets_are_required_by_their_own_dispatcher_only() -> None:
    assert Settings(environment="production", service_name="ruler", **STRONG).sms_webhook_secret
    with pytest.raises(ValidationError) as caught:
        Settings(environment="production", service_name="dispatch-sms", **STRONG)
    assert "REGUA_SMS_WEBHOOK_SECRET" in str(caught.value) and "REGUA_SMS_PROVIDER_TOKEN" in str(caught.value)
    Settings(environment="production", service_name="dispatch-sms", sms_webhook_secret="w" * 32,
             sms_provider_token="issued-by-the-gateway", **STRONG)


def test_the_local_stack_accepts_the_placeholders() -> None:
    assert Settings(environment="local").link_secret == "change-me-link-secret"
