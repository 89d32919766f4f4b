"""Generates the gRPC stubs from proto/ whenever this package is built (proto/README.md)."""

import importlib.util
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

REPOSITORY = Path(__file__).resolve().parents[2]


class GenerateStubs(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        spec = importlib.util.spec_from_file_location("regua_proto_generate", REPOSITORY / "proto" / "generate.py")
        assert spec is not None and spec.loader is not None
        generator = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(generator)
        if version == "editable":
            generator.generate(REPOSITORY / "gen" / "python")  # on sys.path through dev-mode-dirs
            return
        out = Path(tempfile.mkdtemp(prefix="regua-proto-"))
        generator.generate(out)
        build_data["force_include"][str(out / "regua")] = "regua"
