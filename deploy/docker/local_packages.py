"""The repository's packages one service's image installs: its own and the libs/ it depends on, transitively,
so each image carries only its service's dependencies (the Dockerfile's build stage runs this).

    python deploy/docker/local_packages.py dispatch-sms            -> libs/... paths, then services/dispatch_sms
    python deploy/docker/local_packages.py --module dispatch-sms   -> regua_dispatch_sms
"""

import argparse
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9._-]+)")


def _project(folder: Path) -> dict[str, object]:
    project: dict[str, object] = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project


def _local() -> dict[str, Path]:
    """{distribution name: folder} of every package under libs/ and services/."""
    folders = [p.parent for p in sorted([*ROOT.glob("libs/*/pyproject.toml"), *ROOT.glob("services/*/pyproject.toml")])]
    return {str(_project(f)["name"]): f for f in folders}


def service_folder(service: str) -> Path:
    folder = ROOT / "services" / service.replace("-", "_")
    if not (folder / "pyproject.toml").is_file():
        raise SystemExit(f"no service {service!r} under services/")
    return folder


def packages(service: str) -> list[Path]:
    """Local dependencies first (each after those it needs), the service last."""
    local, ordered = _local(), []

    def visit(folder: Path) -> None:
        requirements = _project(folder).get("dependencies", [])
        assert isinstance(requirements, list)
        for requirement in requirements:
            match = REQUIREMENT_NAME.match(requirement)
            dependency = local.get(match.group(1)) if match else None
            if dependency is not None and dependency not in ordered:
                visit(dependency)
        if folder not in ordered:
            ordered.append(folder)

    visit(service_folder(service))
    return ordered


def module(service: str) -> str:
    return "regua_" + service_folder(service).name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("service", help="a folder under services/ (dispatch_sms or dispatch-sms)")
    parser.add_argument("--module", action="store_true", help="print the service's module instead")
    args = parser.parse_args()
    if args.module:
        print(module(args.service))
    else:
        print(" ".join(str(p.relative_to(ROOT)) for p in packages(args.service)))


if __name__ == "__main__":
    main()
