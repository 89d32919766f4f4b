"""Tests run as the local stack: the shipped placeholder secrets are accepted (regua_platform.secrets)."""

import os

os.environ.setdefault("REGUA_ENVIRONMENT", "local")
