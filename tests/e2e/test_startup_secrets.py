"""Outside the local stack a service refuses to start with the shipped secrets: it exits at once, naming
each variable to set, never printing a value. (No platform needed: it fails before touching anything.)"""

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["regua_negotiation", "regua_dispatch_sms"])
def test_a_service_outside_the_local_stack_refuses_the_shipped_secrets(module: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGUA_")}
    env["REGUA_ENVIRONMENT"] = "production"
    env["REGUA_LINK_SECRET"] = "short"  # set, but too short to be a secret
    done = subprocess.run([sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    for variable in ("REGUA_ADMIN_TOKEN", "REGUA_LINK_SECRET", "REGUA_STAFF_TOKEN_SECRET"):
        assert variable in done.stderr, done.stderr[-2000:]
    assert "change-me" not in done.stderr and "short," not in done.stderr and "'short'" not in done.stderr
    if module == "regua_dispatch_sms":
        assert "REGUA_SMS_WEBHOOK_SECRET" in done.stderr


def test_a_service_with_real_secrets_gets_past_the_check() -> None:
    """The check passes with real values (the service then fails later, on its unreachable database)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGUA_")}
    env |= {"REGUA_ENVIRONMENT": "production", "REGUA_ADMIN_TOKEN": "a" * 40, "REGUA_LINK_SECRET": "l" * 40,
            "REGUA_STAFF_TOKEN_SECRET": "s" * 40, "REGUA_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}
    done = subprocess.run([sys.executable, "-m", "regua_negotiation"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0 and "REGUA_ADMIN_TOKEN" not in done.stderr, done.stderr[-2000:]
