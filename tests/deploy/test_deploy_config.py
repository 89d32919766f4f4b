"""Keeps deploy/ and helm/ consistent with the code: every service is deployed, scraped and configured
only with settings that exist; the dashboard and alerts query only metrics the services export.

Pure Python (PyYAML); the promtool and helm checks run only when those binaries are on PATH."""

import importlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY, CollectorRegistry

from regua_localstack.stack import SERVICES
from regua_platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = ROOT / "helm" / "regua"
COMPOSE_FILE = DEPLOY / "compose" / "docker-compose.yml"
PROMETHEUS_DIR = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "regua.json"

METRIC_NAME = re.compile(r"\b((?:regua|faststream)_[a-z0-9_]+)\b")
ENV_NAME = re.compile(r"\bREGUA_[A-Z0-9_]+\b")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(COMPOSE_FILE)
    return data


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(CHART / "values.yaml")
    return data


def exported_names(registry: CollectorRegistry, prefix: str) -> set[str]:
    """Names as Prometheus scrapes them: counters get _total, histograms _bucket/_sum/_count."""
    names: set[str] = set()
    for metric in registry.collect():
        if not metric.name.startswith(prefix):
            continue
        if metric.type == "counter":
            names.add(f"{metric.name}_total")
        elif metric.type == "histogram":
            names |= {f"{metric.name}_{suffix}" for suffix in ("bucket", "sum", "count")}
        else:
            names.add(metric.name)
    return names


def faststream_metrics() -> set[str]:
    from faststream.kafka.prometheus import KafkaPrometheusMiddleware

    registry = CollectorRegistry()
    KafkaPrometheusMiddleware(registry=registry, app_name="probe")  # registers its metrics at once
    return exported_names(registry, "faststream_")


_METRIC_DEFINITION = re.compile(r"\b(?:Counter|Gauge|Histogram|Summary)\(\s*\"regua_")


def metric_modules() -> list[str]:
    """Every module of libs/ and services/ that defines a prometheus_client metric, found in the source (a new
    module with metrics needs no list here to be checked)."""
    modules = []
    for path in sorted([*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]):
        if "prometheus_client" in (text := path.read_text(encoding="utf-8")) and _METRIC_DEFINITION.search(text):
            parts = path.relative_to(ROOT).with_suffix("").parts  # libs/<dist>/src/<package>/.../<module>
            modules.append(".".join(parts[parts.index("src") + 1:]))
    return modules


def regua_metrics_in_code() -> set[str]:
    """The Régua metrics the services export, as scraped: importing the modules that define them registers
    them in the default registry."""
    for module in metric_modules():
        importlib.import_module(module)
    return exported_names(REGISTRY, "regua_")


def dashboard_queries(dashboard: dict[str, Any]) -> list[str]:
    def panels(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [p for item in items for p in [item, *panels(item.get("panels", []))]]

    exprs = [t["expr"] for p in panels(dashboard["panels"]) for t in p.get("targets", []) if "expr" in t]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        exprs.append(query.get("query", "") if isinstance(query, dict) else str(query or ""))
    return exprs


def alert_exprs() -> list[str]:
    rules = load_yaml(PROMETHEUS_DIR / "alerts.yml")
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


# --- files parse --------------------------------------------------------------------------------------

YAML_FILES = sorted(
    p for p in [*DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.yaml"), *CHART.glob("*.yaml")]
)


def test_deploy_files_exist() -> None:
    assert len(YAML_FILES) >= 8, YAML_FILES
    for path in [COMPOSE_FILE, DASHBOARD, DEPLOY / "docker" / "Dockerfile", CHART / "Chart.yaml",
                 CHART / "templates" / "deployment.yaml", CHART / "templates" / "_helpers.tpl"]:
        assert path.is_file(), path


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_yaml_parses(path: Path) -> None:
    documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    assert documents and all(isinstance(d, dict) for d in documents if d is not None), path


def test_dashboard_parses() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["panels"]
    assert dashboard_queries(dashboard)


# --- every service is deployed and scraped ------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_runs_in_compose(compose: dict[str, Any], name: str) -> None:
    service = compose["services"].get(name)
    assert service is not None, f"no compose service {name!r}"
    assert service["command"] == ["python", "-m", SERVICES[name]]
    assert service["environment"]["REGUA_HTTP_HOST"] == "0.0.0.0"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_has_a_helm_values_block(values: dict[str, Any], name: str) -> None:
    block = values["services"].get(name)
    assert block is not None, f"no services.{name} block in helm/regua/values.yaml"
    assert block["enabled"] is True
    assert block["module"] == SERVICES[name]
    assert {"replicas", "resources", "env", "service"} <= set(block)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_is_scraped_by_prometheus(name: str) -> None:
    config = load_yaml(PROMETHEUS_DIR / "prometheus.yml")
    targets = {
        target.split(":")[0]: static.get("labels", {}).get("service")
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    assert name in targets, f"no scrape target for {name}"
    assert targets[name] == name, "the dashboard and alerts group by the `service` label"


@pytest.mark.parametrize("module", sorted(SERVICES.values()))
def test_image_can_start_every_service(module: str) -> None:
    # Each service's image runs `python -m <module>` (tests/deploy/test_images.py); it needs a __main__.
    assert list(ROOT.glob(f"services/*/src/{module}/__main__.py")), module


# --- configuration only uses settings that exist --------------------------------------------------------

def configured_variables(compose: dict[str, Any], values: dict[str, Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}

    def add(where: str, names: Any) -> None:
        found.setdefault(where, set()).update(n for n in names if str(n).startswith("REGUA_"))

    for name, service in compose["services"].items():
        environment = service.get("environment", {})
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        add(f"compose service {name}", environment)
    add("helm values config", values["config"])
    add("helm values secret.values", values["secret"]["values"])
    for name, block in values["services"].items():
        add(f"helm values services.{name}.env", block.get("env") or {})
    for template in sorted((CHART / "templates").iterdir()):
        add(f"helm template {template.name}", ENV_NAME.findall(template.read_text(encoding="utf-8")))
    add("Dockerfile", ENV_NAME.findall((DEPLOY / "docker" / "Dockerfile").read_text(encoding="utf-8")))
    return found


def test_every_regua_variable_is_a_setting(compose: dict[str, Any], values: dict[str, Any]) -> None:
    fields = {name.lower() for name in Settings.model_fields}
    found = configured_variables(compose, values)
    assert sum(len(names) for names in found.values()) > 20, "found too few variables: is the parser broken?"
    unknown = {where: sorted(n for n in names if n.removeprefix("REGUA_").lower() not in fields)
               for where, names in found.items()}
    assert not {k: v for k, v in unknown.items() if v}, "not fields of regua_platform.settings.Settings"


def test_secrets_are_not_in_the_configmap(values: dict[str, Any]) -> None:
    secret_like = {"REGUA_DATABASE_URL", "REGUA_ADMIN_TOKEN", "REGUA_LINK_SECRET", "REGUA_SMTP_PASSWORD"}
    assert not secret_like & set(values["config"])
    for block in values["services"].values():
        assert not secret_like & set(block.get("env") or {})
    assert {"REGUA_DATABASE_URL", "REGUA_ADMIN_TOKEN", "REGUA_LINK_SECRET"} <= set(values["secret"]["values"])


def test_pods_are_non_root_and_read_only(values: dict[str, Any]) -> None:
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text(encoding="utf-8")
    uid = re.search(r"^ARG UID=(\d+)$", dockerfile, re.MULTILINE)
    assert uid and re.search(r"^USER \$\{UID\}:\$\{UID\}$", dockerfile, re.MULTILINE)
    assert values["podSecurityContext"]["runAsNonRoot"] is True
    assert values["podSecurityContext"]["runAsUser"] == int(uid.group(1))
    assert values["securityContext"]["readOnlyRootFilesystem"] is True
    assert "mountPath: /tmp" in (CHART / "templates" / "deployment.yaml").read_text(encoding="utf-8")


def test_chart_bundles_no_dependencies(values: dict[str, Any]) -> None:
    # Kafka and PostgreSQL are the cluster's own: a declared dependency blocks lint and template offline.
    assert "dependencies" not in load_yaml(CHART / "Chart.yaml")
    assert not {"kafka", "postgresql"} & set(values)


def test_compose_mounts_and_build_exist(compose: dict[str, Any]) -> None:
    base = COMPOSE_FILE.parent
    for name, service in compose["services"].items():
        if "build" in service:
            context = (base / service["build"]["context"]).resolve()
            assert (context / service["build"]["dockerfile"]).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (base / source).exists(), f"{name}: {source}"
            else:
                assert source in compose.get("volumes", {}), f"{name}: undeclared volume {source}"
        for dependency in service.get("depends_on", {}):
            assert dependency in compose["services"], f"{name} depends on unknown {dependency}"


# --- dashboards and alerts query real metrics -----------------------------------------------------------

def test_metric_modules_are_found_in_the_source() -> None:
    modules = metric_modules()
    assert {"regua_platform.outbox", "regua_platform.http_metrics", "regua_ruler.handlers",
            "regua_credit_client.client"} <= set(modules), modules


def _dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text("utf-8"))
    return dashboard


def _panels(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for item in items for p in [item, *_panels(item.get("panels", []))]]


def test_dashboard_queries_only_metrics_the_services_export() -> None:
    queried = set(METRIC_NAME.findall(" ".join(dashboard_queries(_dashboard()))))
    assert {n for n in queried if n.startswith("regua_")} <= regua_metrics_in_code()
    assert {n for n in queried if n.startswith("faststream_")} <= faststream_metrics()


def test_dashboard_charts_every_regua_metric() -> None:
    queried = set(METRIC_NAME.findall(" ".join(dashboard_queries(_dashboard()))))
    assert regua_metrics_in_code() <= queried, "a metric the services export is missing from the dashboard"


def test_dashboard_panel_ids_are_unique() -> None:
    ids = [p["id"] for p in _panels(_dashboard()["panels"])]
    assert sorted(i for i in set(ids) if ids.count(i) > 1) == []


def test_dashboard_panels_do_not_overlap() -> None:
    def cells(panel: dict[str, Any]) -> set[tuple[int, int]]:
        g = panel["gridPos"]
        return {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}

    panels = _dashboard()["panels"]  # top level: Grafana lays out rows and their panels on one grid
    overlapping = [(a["title"], b["title"]) for i, a in enumerate(panels) for b in panels[i + 1:]
                   if cells(a) & cells(b)]
    assert overlapping == []
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in panels)


def test_alerts_query_only_metrics_the_services_export() -> None:
    queried = set(METRIC_NAME.findall(" ".join(alert_exprs())))
    assert queried and queried <= regua_metrics_in_code()


# --- with the real tools, when installed ----------------------------------------------------------------

@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_checks_config_and_rule_tests() -> None:
    for args in (["check", "config", "prometheus.yml"], ["test", "rules", "alerts_test.yml"]):
        result = subprocess.run(["promtool", *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("helm") is None, reason="helm not installed")
def test_helm_renders_one_deployment_per_service() -> None:
    result = subprocess.run(["helm", "template", "regua", str(CHART)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    deployments = {d["metadata"]["labels"]["app.kubernetes.io/component"]: d
                   for d in yaml.safe_load_all(result.stdout) if d and d["kind"] == "Deployment"}
    assert set(deployments) == set(SERVICES)
    for name, deployment in deployments.items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["python", "-m", SERVICES[name]]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
