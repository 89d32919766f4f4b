"""Generates the Python stubs of every .proto under proto/ (proto/README.md). Building libs/regua-proto
runs it; `make proto` runs it to regenerate in place.

    python proto/generate.py [--out DIR]      # DIR defaults to gen/python at the repository root

The proto path (-I) is proto/ itself, so a file's folder is its package: regua/credit/v1/x.proto becomes
the module ``regua.credit.v1.x_pb2`` and its ``x_pb2_grpc`` imports it by that absolute name. The output
folder replaces what was there; ``regua`` and its sub-folders are namespace packages (no __init__.py).
Typed stubs (.pyi) come from mypy-protobuf, for both the messages and the gRPC classes.
"""

import argparse
import shutil
import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
DEFAULT_OUT = PROTO_ROOT.parent / "gen" / "python"


def _plugins() -> list[str]:
    """mypy-protobuf's plugins sit next to this interpreter, whether or not the venv is on PATH."""
    found = []
    for name in ("protoc-gen-mypy", "protoc-gen-mypy_grpc"):
        path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
        if path is None:
            raise SystemExit(f"{name} not found: install mypy-protobuf")
        found.append(f"--plugin={name}={path}")
    return found


def generate(out: Path) -> list[Path]:
    sources = sorted(PROTO_ROOT.rglob("*.proto"))
    if not sources:
        raise SystemExit(f"no .proto files under {PROTO_ROOT}")
    package_root = out / "regua"
    if package_root.exists():
        shutil.rmtree(package_root)  # a deleted .proto must not leave its stale module behind
    out.mkdir(parents=True, exist_ok=True)
    well_known = resources.files("grpc_tools") / "_proto"  # google/protobuf/*.proto shipped with grpcio-tools
    args = [
        "grpc_tools.protoc", f"-I{PROTO_ROOT}", f"-I{well_known}", *_plugins(),
        f"--python_out={out}", f"--grpc_python_out={out}", f"--mypy_out={out}", f"--mypy_grpc_out={out}",
        *(str(s.relative_to(PROTO_ROOT)) for s in sources),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    return sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    out = parser.parse_args().out.resolve()
    sources = generate(out)
    print(f"generated stubs of {len(sources)} proto file(s) into {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
