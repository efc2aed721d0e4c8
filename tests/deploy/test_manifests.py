"""deploy/k8s: the Kubernetes manifests, checked offline.

Every manifest validates against the Kubernetes schemas that kubernetes-validate bundles (strict:
an unknown field fails), and agrees with the processes it runs: ports from bot/common/settings.py's
defaults, probe paths that the real apps serve, the engine's command and environment as
tools/assistant.py starts it, every variable a real setting, secrets only as placeholders, the
HorizontalPodAutoscaler on the action server, /metrics never routed by the Ingress, and pods that
run as non-root on a read-only root file system.

Each check is a function from the loaded documents to a list of problems, so that the negative
tests at the bottom can break a copy of the manifests in a temporary folder and see the check
that guards it fail.
"""

from __future__ import annotations

import ast
import base64
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kubernetes_validate
from prometheus_client import CollectorRegistry
from sanic import Sanic

from bot.app.action_server import add_operations_routes
from bot.app.handoff.worker import HealthServer, Heartbeat
from bot.app.web.app import create_app
from bot.common.settings import Settings, load_settings
from tools import assistant

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
# The oldest Kubernetes the manifests are meant for (CronJob time zones need 1.27, the
# restricted Pod Security labels 1.25), and the newest the pinned kubernetes-validate bundles.
KUBERNETES_VERSIONS = ("1.30", "1.37")
# Files that are not Kubernetes objects, or not applied with the rest.
KUSTOMIZATION = "kustomization.yaml"
NOT_IN_KUSTOMIZATION = {"secret.example.yaml", "jobs/catalogue-load.yaml"}
# Variables that are not ours but that a process reads: Python, TensorFlow, Rasa, Sanic.
OTHER_KNOWN_ENV = frozenset(
    {
        "PYTHONPATH",
        "PYTHONWARNINGS",
        "TF_CPP_MIN_LOG_LEVEL",  # TensorFlow's C++ log level
        "LOG_LEVEL",  # Rasa's log level
        "FORCE_JSON_LOGGING",  # Rasa's structlog events as JSON
        "RASA_TELEMETRY_ENABLED",
        "SANIC_HOST",  # rasa-sdk's address
        "SANIC_REQUEST_MAX_SIZE",
        "SANIC_PROXIES_COUNT",
        "SANIC_REAL_IP_HEADER",
        "SANIC_FORWARDED_SECRET",
    }
)
PLACEHOLDER = "CHANGE_ME"
# Paths the Ingress must never route to a process: the metrics of the web app, action server and
# worker (/metrics), the engine's metrics channel (bot/engine/channels/metrics.py,
# /webhooks/metrics/) and the REST channel (server to server only, docs/security.md 2.2).
CLOSED_PATHS = (
    "/metrics",
    "/metrics/",
    "/metrics/x",
    "/webhooks/metrics",
    "/webhooks/metrics/",
    "/webhooks/rest/webhook",
)
POD_KINDS = {"Deployment", "Job", "CronJob"}

Document = dict[str, Any]
# libyaml's safe loader when PyYAML has it (much faster), else the pure-Python one.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Manifest:
    path: str  # relative to the manifests' folder
    body: Document


def load_manifests(folder: Path) -> list[Manifest]:
    found = []
    for path in sorted(folder.rglob("*.yaml")):
        relative = path.relative_to(folder).as_posix()
        if relative == KUSTOMIZATION:
            continue
        for body in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER):
            if body:
                found.append(Manifest(relative, body))
    return found


def name_of(manifest: Manifest) -> str:
    return f"{manifest.path}: {manifest.body.get('kind')}/{manifest.body['metadata']['name']}"


def of_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m.body.get("kind") == kind]


def component(manifest: Manifest) -> str:
    return str(manifest.body["metadata"].get("labels", {}).get("app.kubernetes.io/component", ""))


def deployment(manifests: list[Manifest], name: str) -> Manifest:
    (found,) = [m for m in of_kind(manifests, "Deployment") if component(m) == name]
    return found


def pod_spec(manifest: Manifest) -> Document:
    spec = manifest.body["spec"]
    if manifest.body["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def pods(manifests: list[Manifest]) -> Iterator[tuple[Manifest, Document]]:
    for manifest in manifests:
        if manifest.body.get("kind") in POD_KINDS:
            yield manifest, pod_spec(manifest)


def containers(spec: Document, *, init: bool = True) -> list[Document]:
    return [*(spec.get("initContainers", []) if init else []), *spec.get("containers", [])]


def main_container(manifest: Manifest) -> Document:
    (found,) = pod_spec(manifest)["containers"]
    return dict(found)


def config_maps(manifests: list[Manifest]) -> dict[str, dict[str, str]]:
    return {
        m.body["metadata"]["name"]: m.body.get("data", {}) for m in of_kind(manifests, "ConfigMap")
    }


def env_names(container: Document, manifests: list[Manifest]) -> set[str]:
    """Every variable the container gets: its own, and those of the ConfigMaps it takes whole."""
    names = {entry["name"] for entry in container.get("env", [])}
    maps = config_maps(manifests)
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            names |= set(maps.get(source["configMapRef"]["name"], {}))
    return names


def env_value(container: Document, manifests: list[Manifest], name: str) -> str | None:
    """A variable's value as the container sees it, when it is written in the manifests."""
    maps = config_maps(manifests)
    for entry in container.get("env", []):
        if entry["name"] == name:
            if "value" in entry:
                return str(entry["value"])
            ref = entry.get("valueFrom", {}).get("configMapKeyRef")
            return maps.get(ref["name"], {}).get(ref["key"]) if ref else None
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            value = maps.get(source["configMapRef"]["name"], {}).get(name)
            if value is not None:
                return value
    return None


def argument(command: list[str], flag: str) -> str | None:
    return command[command.index(flag) + 1] if flag in command else None


def arguments_after(command: list[str], flag: str) -> list[str]:
    """The values of a flag that takes several (`--cors a b`), up to the next flag."""
    if flag not in command:
        return []
    values = []
    for value in command[command.index(flag) + 1 :]:
        if value.startswith("--"):
            break
        values.append(value)
    return values


def module_of(command: list[str]) -> str | None:
    return argument(command, "-m")


# ---- what the real processes are --------------------------------------------------------------


@dataclass(frozen=True)
class Launch:
    """A process as tools/assistant.py starts it (for `make run` and the integration tests)."""

    command: list[str]
    env_names: frozenset[str]
    ready_path: str | None


@dataclass(frozen=True)
class Facts:
    defaults: Settings
    launches: Mapping[str, Launch]
    # The routes each process really serves.
    routes: Mapping[str, frozenset[str]]
    # Every ZIJWIJZER_* name the code reads.
    known_env: frozenset[str]
    # The ${VARIABLES} the engine's endpoints.yml and credentials.yml name.
    engine_file_env: frozenset[str]


def default_settings(secret: str) -> Settings:
    """bot/common/settings.py's defaults: what a process gets without any ZIJWIJZER_* variable."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("ZIJWIJZER_")]:
            patch.delenv(name)
        patch.setenv("ZIJWIJZER_SECRET_KEY", secret)
        return load_settings()


class _RecordedPopen:
    """Stands in for subprocess.Popen inside tools/assistant.py: records, starts nothing."""

    started: list[_RecordedPopen] = []  # noqa: RUF012 (a record for one fixture at a time)

    def __init__(self, args: list[str], **kwargs: Any) -> None:
        self.args = [str(a) for a in args]
        self.env = dict(kwargs.get("env") or {})
        self.pid = 0
        _RecordedPopen.started.append(self)


def launches(settings: Settings, workdir: Path) -> dict[str, Launch]:
    """What tools/assistant.py would start, with production's JSON logs, recorded."""
    production = dataclasses.replace(settings, log_format="json")
    starters: dict[str, Callable[[], assistant.Process]] = {
        "engine": lambda: assistant.start_engine(production, {}, workdir=workdir),
        "action-server": lambda: assistant.start_action_server(production, {}),
        "web": lambda: assistant.start_web(production, {}),
        "handoff-worker": lambda: assistant.start_handoff_worker(production, {}),
    }
    found = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(assistant.subprocess, "Popen", _RecordedPopen)
        for name, start in starters.items():
            _RecordedPopen.started.clear()
            process = start()
            (popen,) = _RecordedPopen.started
            path = urllib.parse.urlsplit(process.ready_url).path if process.ready_url else None
            found[name] = Launch(popen.args, frozenset(popen.env), path)
    return found


def known_env_names() -> frozenset[str]:
    """Every string constant in bot/ that is a whole ZIJWIJZER_* variable name."""
    pattern = re.compile(r"ZIJWIJZER_[A-Z0-9_]+")
    names = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and pattern.fullmatch(value):
                names.add(value)
    return frozenset(names)


def engine_file_env() -> frozenset[str]:
    names = set()
    for name in ("endpoints.yml", "credentials.yml"):
        text = (ROOT / name).read_text(encoding="utf-8")
        uncommented = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
        names |= set(re.findall(r"\$\{([A-Z0-9_]+)\}", uncommented))
    return frozenset(names)


def worker_routes() -> frozenset[str]:
    """The paths the handoff worker's health server answers with 200 (asked for real)."""
    server = HealthServer("127.0.0.1", 0, Heartbeat(), CollectorRegistry())
    found = set()
    try:
        for path in ("/health", "/metrics", "/ready"):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5):
                    found.add(path)
            except urllib.error.HTTPError:
                pass
    finally:
        server.close()
    return frozenset(found)


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> Facts:
    folder = tmp_path_factory.mktemp("deploy")
    defaults = default_settings("deploy-test-key")
    launched = launches(defaults, folder / "engine")
    web = create_app(dataclasses.replace(defaults, database_url=f"sqlite:///{folder / 'app.db'}"))
    # rasa-sdk's own /health (what the launcher waits for) plus our routes on its app.
    sdk_health = launched["action-server"].ready_path
    action_app = add_operations_routes(Sanic("deploy_manifest_check"))
    action_routes = {route.uri for route in action_app.router.routes}
    return Facts(
        defaults=defaults,
        launches=launched,
        routes={
            # Its OpenAPI description lists every route (it is not served: docs_url is off).
            "web": frozenset(web.openapi()["paths"]),
            "action-server": frozenset({*action_routes, *([sdk_health] if sdk_health else [])}),
            "handoff-worker": worker_routes(),
        },
        known_env=known_env_names(),
        engine_file_env=engine_file_env(),
    )


@pytest.fixture(scope="module")
def manifests() -> list[Manifest]:
    return load_manifests(K8S)


# ---- the checks ------------------------------------------------------------------------------


_verdicts: dict[tuple[str, str], str | None] = {}


def _schema_verdict(body: Document, version: str) -> str | None:
    """kubernetes-validate's verdict on one document; remembered, because the negative tests
    check many copies in which most documents are unchanged."""
    key = (json.dumps(body, sort_keys=True, default=str), version)
    if key not in _verdicts:
        try:
            kubernetes_validate.validate(body, version, strict=True)
            _verdicts[key] = None
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path)
            _verdicts[key] = f"{where}: {error.message}"
        except kubernetes_validate.SchemaNotFoundError as error:
            _verdicts[key] = error.message
    return _verdicts[key]


def schema_problems(manifests: list[Manifest], version: str) -> list[str]:
    problems = []
    for manifest in manifests:
        verdict = _schema_verdict(manifest.body, version)
        if verdict is not None:
            problems.append(f"{name_of(manifest)} (Kubernetes {version}): {verdict}")
    return problems


@dataclass(frozen=True)
class Probes:
    port: int
    ready: str
    live: str
    startup: bool  # a startupProbe is required (slow start)


def expected_probes(facts: Facts) -> dict[str, Probes]:
    d = facts.defaults
    engine_ready = facts.launches["engine"].ready_path or ""
    return {
        # Ready: the widget channel answers 200 only with a model (what the launcher waits for).
        # Live: Rasa's root route "Hello from Rasa" (rasa/server.py add_root_route).
        "engine": Probes(d.rasa_port, engine_ready, "/", startup=True),
        # Ready: the catalogue can be read; live: rasa-sdk's /health.
        "action-server": Probes(d.action_port, "/ready", "/health", startup=False),
        "web": Probes(d.web_port, facts.launches["web"].ready_path or "", "/health", startup=False),
        "handoff-worker": Probes(d.worker_health_port, "/health", "/health", startup=False),
    }


def _port_number(container: Document, port: int | str) -> int | None:
    if isinstance(port, int):
        return port
    for declared in container.get("ports", []):
        if declared.get("name") == port:
            return int(declared["containerPort"])
    return None


def probe_problems(manifests: list[Manifest], facts: Facts) -> list[str]:
    problems = []
    expected = expected_probes(facts)
    deployments = of_kind(manifests, "Deployment")
    missing = set(expected) - {component(m) for m in deployments}
    problems += [f"no Deployment for the {name}" for name in sorted(missing)]
    for manifest in deployments:
        want = expected.get(component(manifest))
        if want is None:
            problems.append(f"{name_of(manifest)}: a Deployment of an unknown component")
            continue
        container = main_container(manifest)
        probes = {
            kind: container.get(f"{kind}Probe") for kind in ("readiness", "liveness", "startup")
        }
        paths = {"readiness": want.ready, "liveness": want.live, "startup": want.ready}
        for kind, probe in probes.items():
            if probe is None:
                if kind != "startup" or want.startup:
                    problems.append(f"{name_of(manifest)}: no {kind} probe")
                continue
            get = probe.get("httpGet")
            if get is None:
                problems.append(f"{name_of(manifest)}: the {kind} probe is not an HTTP GET")
                continue
            # A startup probe may ask either: it only holds the other two back until it passes.
            allowed_paths = {want.ready, want.live} if kind == "startup" else {paths[kind]}
            if get.get("path") not in allowed_paths:
                problems.append(
                    f"{name_of(manifest)}: {kind} probe asks {get.get('path')}, "
                    f"the process answers {paths[kind]}"
                )
            port = _port_number(container, get.get("port", ""))
            if port != want.port:
                problems.append(
                    f"{name_of(manifest)}: {kind} probe on port {port}, the process listens "
                    f"on {want.port} (bot/common/settings.py)"
                )
        served = facts.routes.get(component(manifest))
        for path in {want.ready, want.live}:
            if served is not None and path not in served:
                problems.append(f"{name_of(manifest)}: the process has no route {path}")
        if want.startup and probes["startup"] is not None:
            probe = probes["startup"]
            # The engine's cold start is 30-60 s; the launcher waits up to READY_TIMEOUT_SECONDS.
            allowed = probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3)
            if allowed < assistant.READY_TIMEOUT_SECONDS:
                problems.append(
                    f"{name_of(manifest)}: the startup probe gives up after {allowed} s, "
                    f"before a cold start may end ({assistant.READY_TIMEOUT_SECONDS:.0f} s)"
                )
    return problems


def port_problems(manifests: list[Manifest], facts: Facts) -> list[str]:
    """Ports in commands, Services and URLs agree with the settings' defaults."""
    d = facts.defaults
    problems = []
    engine = main_container(deployment(manifests, "engine"))
    if argument(engine["command"], "--port") != str(d.rasa_port):
        problems.append(f"the engine's --port is not {d.rasa_port} (bot/common/settings.py)")
    action = main_container(deployment(manifests, "action-server"))
    if argument(action["command"], "--port") != str(d.action_port):
        problems.append(
            f"the action server's --port is not {d.action_port} (bot/common/settings.py)"
        )
    url = urllib.parse.urlsplit(env_value(action, manifests, "ZIJWIJZER_ACTION_SERVER_URL") or "")
    services = {m.body["metadata"]["name"]: m for m in of_kind(manifests, "Service")}
    target = services.get(url.hostname or "")
    if target is None or component(target) != "action-server" or url.port != d.action_port:
        problems.append(
            f"ZIJWIJZER_ACTION_SERVER_URL {url.geturl()} is not the action server's Service on "
            f"port {d.action_port}"
        )
    for service in services.values():
        selector = service.body["spec"].get("selector")
        if not selector:
            continue
        chosen = [
            m
            for m in of_kind(manifests, "Deployment")
            if all(pod_labels(m).get(k) == v for k, v in selector.items())
        ]
        if not chosen:
            problems.append(f"{name_of(service)}: its selector matches no Deployment")
        for port in service.body["spec"]["ports"]:
            for m in chosen:
                if _port_number(main_container(m), port.get("targetPort", port["port"])) is None:
                    problems.append(f"{name_of(service)}: target port {port} not in {name_of(m)}")
    return problems


def pod_labels(manifest: Manifest) -> dict[str, str]:
    return dict(manifest.body["spec"]["template"]["metadata"].get("labels", {}))


def engine_problems(manifests: list[Manifest], facts: Facts) -> list[str]:
    """The engine runs as tools/assistant.py starts it: module, flags, working directory,
    PYTHONPATH and every variable it sets and the engine's files name."""
    problems = []
    launch = facts.launches["engine"]
    container = main_container(deployment(manifests, "engine"))
    command = [str(part) for part in container["command"]]
    if command[1:4] != launch.command[1:4]:
        problems.append(f"the engine runs {command[1:4]}, the launcher {launch.command[1:4]}")
    if not command[0].endswith("/.venv-rasa/bin/python"):
        problems.append("the engine must run with .venv-rasa's Python")
    flags = {part for part in command if part.startswith("--")}
    launcher_flags = {part for part in launch.command if part.startswith("--")}
    if flags != launcher_flags:
        problems.append(
            f"engine flags {sorted(flags)} differ from the launcher's {sorted(launcher_flags)}"
        )
    if argument(command, "--interface") != "0.0.0.0":
        problems.append("the engine must listen on the pod's address (--interface 0.0.0.0)")
    origins = (env_value(container, manifests, "ZIJWIJZER_ALLOWED_ORIGINS") or "").split(",")
    if arguments_after(command, "--cors") != [o.strip() for o in origins if o.strip()]:
        problems.append("the engine's --cors arguments are not ZIJWIJZER_ALLOWED_ORIGINS")
    names = env_names(container, manifests)
    for needed in sorted((launch.env_names | facts.engine_file_env) - names):
        problems.append(
            f"the engine lacks {needed} (set by tools/assistant.py or named in its files)"
        )
    plugin = env_value(container, manifests, "PYTHONPATH") or ""
    if plugin.rstrip("/").rsplit("/", 1)[-1] != assistant.PLUGIN_PATH.name or plugin == "/app":
        problems.append(
            f"the engine's PYTHONPATH {plugin!r} is not the folder with only bot/engine and "
            "bot/common in it"
        )
    workdir = container.get("workingDir", "")
    mounts = {mount["mountPath"] for mount in container.get("volumeMounts", [])}
    if workdir not in mounts:
        problems.append("the engine's working directory must be its own empty volume")
    if env_value(container, manifests, "SANIC_REQUEST_MAX_SIZE") != env_value(
        container, manifests, "ZIJWIJZER_ENGINE_MAX_BODY_BYTES"
    ) and env_value(container, manifests, "SANIC_REQUEST_MAX_SIZE") != str(
        facts.defaults.engine_max_body_bytes
    ):
        problems.append("SANIC_REQUEST_MAX_SIZE is not the engine's body limit")
    log_file = argument(command, "--logging-config-file")
    if log_file is not None:
        init = pod_spec(deployment(manifests, "engine")).get("initContainers", [])
        if not any(log_file in [str(part) for part in c.get("command", [])] for c in init):
            problems.append(f"no init container writes the engine's {log_file}")
    return problems


def process_problems(manifests: list[Manifest], facts: Facts) -> list[str]:
    """Action server, web app and worker run the module the launcher runs, with its variables."""
    problems = []
    for name in ("action-server", "web", "handoff-worker"):
        launch = facts.launches[name]
        container = main_container(deployment(manifests, name))
        command = [str(part) for part in container["command"]]
        if module_of(command) != module_of(launch.command):
            problems.append(
                f"the {name} runs {module_of(command)}, the launcher {module_of(launch.command)}"
            )
        if argument(command, "--actions") != argument(launch.command, "--actions"):
            problems.append(f"the {name}'s --actions differs from the launcher's")
        if not command[0].endswith("/.venv/bin/python"):
            problems.append(f"the {name} must run with .venv's Python")
        names = env_names(container, manifests)
        for needed in sorted(launch.env_names - names):
            problems.append(f"the {name} lacks {needed} (set by tools/assistant.py)")
    # Every process calls load_settings(), which without a key writes a random one to var/
    # (a read-only file system here, and a different key per pod).
    for manifest, spec in pods(manifests):
        for container in containers(spec):
            if "ZIJWIJZER_SECRET_KEY" not in env_names(container, manifests):
                problems.append(f"{name_of(manifest)} {container['name']}: no ZIJWIJZER_SECRET_KEY")
    return problems


def env_problems(manifests: list[Manifest], facts: Facts) -> list[str]:
    """Every variable the manifests name is one the code reads (no typo, nothing stale)."""
    known = facts.known_env | OTHER_KNOWN_ENV
    problems = []
    for name, data in config_maps(manifests).items():
        problems += [
            f"ConfigMap {name}: {key} is read by nothing" for key in data if key not in known
        ]
    for manifest, spec in pods(manifests):
        for container in containers(spec):
            for entry in container.get("env", []):
                if entry["name"] not in known:
                    problems.append(f"{name_of(manifest)}: {entry['name']} is read by nothing")
    return problems


def _placeholder(value: str) -> bool:
    if value == "":
        return True
    if PLACEHOLDER not in value:
        return False
    password = urllib.parse.urlsplit(value).password if "://" in value else None
    return password in (None, PLACEHOLDER)


def secret_problems(manifests: list[Manifest]) -> list[str]:
    """Secrets hold placeholders only, and secret values come only from the Secret."""
    problems = []
    secrets = of_kind(manifests, "Secret")
    keys: set[str] = set()
    for secret in secrets:
        values = dict(secret.body.get("stringData", {}))
        for key, encoded in secret.body.get("data", {}).items():
            values[key] = base64.b64decode(encoded).decode("utf-8", "replace")
        keys |= set(values)
        for key, value in values.items():
            if not _placeholder(str(value)):
                problems.append(f"{name_of(secret)}: {key} holds a value, not a placeholder")
    if not secrets:
        problems.append("no example Secret (secret.example.yaml) says which keys to create")
    for name, data in config_maps(manifests).items():
        problems += [f"ConfigMap {name}: {key} is a secret" for key in data if key in keys]
    for manifest, spec in pods(manifests):
        for container in containers(spec):
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if entry["name"] in keys and ref is None:
                    problems.append(f"{name_of(manifest)}: {entry['name']} not from the Secret")
                if ref is not None and ref["key"] not in keys:
                    problems.append(
                        f"{name_of(manifest)}: {ref['key']} is not in the example Secret"
                    )
    return problems


def resource_problems(manifests: list[Manifest]) -> list[str]:
    problems = []
    for manifest, spec in pods(manifests):
        for container in containers(spec):
            resources = container.get("resources", {})
            for kind in ("cpu", "memory"):
                if kind not in resources.get("requests", {}):
                    problems.append(f"{name_of(manifest)} {container['name']}: no {kind} request")
            if "memory" not in resources.get("limits", {}):
                problems.append(f"{name_of(manifest)} {container['name']}: no memory limit")
    return problems


def security_problems(manifests: list[Manifest]) -> list[str]:
    problems = []
    for manifest, spec in pods(manifests):
        where = name_of(manifest)
        if spec.get("securityContext", {}).get("runAsNonRoot") is not True:
            problems.append(f"{where}: pods may run as root")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: the service account token is mounted")
        # Service links would put ZIJWIJZER_WEB_PORT=tcp://... (Service zijwijzer-web) into the
        # environment, which bot/common/settings.py reads as the web app's port.
        if spec.get("enableServiceLinks") is not False:
            problems.append(f"{where}: enableServiceLinks must be false")
        for container in containers(spec):
            context = container.get("securityContext", {})
            label = f"{where} {container['name']}"
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{label}: privilege escalation allowed")
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{label}: root file system writable")
            if context.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{label}: capabilities not all dropped")
    return problems


def rollout_problems(manifests: list[Manifest]) -> list[str]:
    """No downtime on a new image: rolling updates that never go below the replicas asked for,
    and disruption budgets for the engine and the action server."""
    problems = []
    for manifest in of_kind(manifests, "Deployment"):
        strategy = manifest.body["spec"].get("strategy", {})
        if strategy.get("type") != "RollingUpdate":
            problems.append(f"{name_of(manifest)}: not a rolling update")
        elif strategy.get("rollingUpdate", {}).get("maxUnavailable") != 0:
            problems.append(f"{name_of(manifest)}: maxUnavailable is not 0")
    for name in ("engine", "action-server"):
        replicas = deployment(manifests, name).body["spec"].get("replicas", 1)
        if not isinstance(replicas, int) or replicas < 2:
            problems.append(f"the {name} runs fewer than 2 replicas")
        labels = pod_labels(deployment(manifests, name))
        budgets = [
            m
            for m in of_kind(manifests, "PodDisruptionBudget")
            if all(labels.get(k) == v for k, v in m.body["spec"]["selector"]["matchLabels"].items())
        ]
        if not budgets:
            problems.append(f"no PodDisruptionBudget for the {name}")
    return problems


def autoscaler_problems(manifests: list[Manifest]) -> list[str]:
    problems = []
    deployments = {m.body["metadata"]["name"]: m for m in of_kind(manifests, "Deployment")}
    targets = []
    for hpa in of_kind(manifests, "HorizontalPodAutoscaler"):
        ref = hpa.body["spec"]["scaleTargetRef"]
        target = deployments.get(ref["name"]) if ref.get("kind") == "Deployment" else None
        if target is None or ref.get("apiVersion") != "apps/v1":
            problems.append(f"{name_of(hpa)}: scales {ref}, which is no Deployment here")
            continue
        targets.append(component(target))
        for container in containers(pod_spec(target), init=False):
            if "cpu" not in container.get("resources", {}).get("requests", {}):
                problems.append(
                    f"{name_of(hpa)}: {container['name']} has no CPU request to scale on"
                )
    if "action-server" not in targets:
        problems.append("no HorizontalPodAutoscaler scales the action server")
    return problems


def _route(ingress: Document, host: str | None, path: str) -> Document | None:
    """The backend Kubernetes' Ingress rules pick for a request: the longest matching path,
    Exact before Prefix; Prefix matches whole path elements."""
    best: tuple[int, int, Document] | None = None
    for rule in ingress["spec"].get("rules", []):
        if rule.get("host") not in (None, host):
            continue
        for entry in rule.get("http", {}).get("paths", []):
            wanted, kind = entry.get("path", "/"), entry.get("pathType")
            if kind == "Exact":
                matches = path == wanted
            else:  # Prefix, and ImplementationSpecific read as Prefix
                stem = wanted.rstrip("/")
                matches = stem == "" or path == stem or path.startswith(stem + "/")
            if matches:
                rank = (len(wanted), 1 if kind == "Exact" else 0)
                if best is None or rank > best[:2]:
                    best = (*rank, entry["backend"])
    if best is not None:
        return best[2]
    default = ingress["spec"].get("defaultBackend")
    return dict(default) if default else None


def ingress_problems(manifests: list[Manifest]) -> list[str]:
    """The Ingress never hands /metrics (or the REST channel) to a process: such paths must
    match no rule, or a Service without pods behind it."""
    problems = []
    services = {m.body["metadata"]["name"]: m.body for m in of_kind(manifests, "Service")}
    ingresses = of_kind(manifests, "Ingress")
    if not ingresses:
        problems.append("no Ingress")
    for ingress in ingresses:
        hosts = [rule.get("host") for rule in ingress.body["spec"].get("rules", [])] or [None]
        for host in hosts:
            for path in CLOSED_PATHS:
                backend = _route(ingress.body, host, path)
                service = (backend or {}).get("service", {}).get("name")
                if backend is not None and services.get(service, {}).get("spec", {}).get(
                    "selector"
                ):
                    problems.append(
                        f"{name_of(ingress)}: {host}{path} reaches the Service {service}"
                    )
            widget = (_route(ingress.body, host, "/webhooks/widget/") or {}).get("service", {})
            if component_of_service(services.get(widget.get("name", ""))) != "engine":
                problems.append(
                    f"{name_of(ingress)}: {host}/webhooks/widget/ does not reach the engines"
                )
            page = (_route(ingress.body, host, "/console") or {}).get("service", {})
            if component_of_service(services.get(page.get("name", ""))) != "web":
                problems.append(f"{name_of(ingress)}: {host}/console does not reach the web app")
    return problems


def component_of_service(service: Document | None) -> str:
    return str(
        ((service or {}).get("spec", {}).get("selector") or {}).get(
            "app.kubernetes.io/component", ""
        )
    )


def kustomization_problems(folder: Path) -> list[str]:
    listed = set(yaml.safe_load((folder / KUSTOMIZATION).read_text(encoding="utf-8"))["resources"])
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*.yaml")} - {KUSTOMIZATION}
    problems = [
        f"{KUSTOMIZATION} lists {name}, which does not exist" for name in sorted(listed - present)
    ]
    problems += [
        f"{KUSTOMIZATION} does not list {name}"
        for name in sorted(present - listed - NOT_IN_KUSTOMIZATION)
    ]
    problems += [
        f"{name} must not be applied with the rest"
        for name in sorted(listed & NOT_IN_KUSTOMIZATION)
    ]
    return problems


def all_problems(folder: Path, facts: Facts) -> list[str]:
    manifests = load_manifests(folder)
    problems = kustomization_problems(folder)
    for version in KUBERNETES_VERSIONS:
        problems += schema_problems(manifests, version)
    for check in (secret_problems, resource_problems, security_problems, rollout_problems):
        problems += check(manifests)
    problems += autoscaler_problems(manifests) + ingress_problems(manifests)
    for with_facts in (
        probe_problems,
        port_problems,
        engine_problems,
        process_problems,
        env_problems,
    ):
        problems += with_facts(manifests, facts)
    return problems


# ---- the tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schemas(
    manifests: list[Manifest], version: str
) -> None:
    assert len(manifests) >= 15
    assert schema_problems(manifests, version) == []


def test_the_schemas_are_bundled_with_the_pinned_package() -> None:
    # Offline: the schemas come from the installed package, for both versions checked.
    bundled = {kubernetes_validate.major_minor(v) for v in kubernetes_validate.all_versions()}
    assert set(KUBERNETES_VERSIONS) <= bundled


def test_the_kustomization_applies_everything_but_the_secret_example_and_the_job() -> None:
    assert kustomization_problems(K8S) == []


def test_probes_ask_the_paths_and_ports_the_processes_serve(
    manifests: list[Manifest], facts: Facts
) -> None:
    assert probe_problems(manifests, facts) == []


def test_ports_agree_with_the_settings(manifests: list[Manifest], facts: Facts) -> None:
    assert port_problems(manifests, facts) == []


def test_the_engine_runs_as_the_launcher_starts_it(manifests: list[Manifest], facts: Facts) -> None:
    assert engine_problems(manifests, facts) == []


def test_the_other_processes_run_as_the_launcher_starts_them(
    manifests: list[Manifest], facts: Facts
) -> None:
    assert process_problems(manifests, facts) == []


def test_every_variable_is_one_the_code_reads(manifests: list[Manifest], facts: Facts) -> None:
    assert env_problems(manifests, facts) == []


def test_secrets_are_placeholders_and_come_only_from_the_secret(manifests: list[Manifest]) -> None:
    assert secret_problems(manifests) == []


def test_resources_security_rollout_and_autoscaling(manifests: list[Manifest]) -> None:
    assert resource_problems(manifests) == []
    assert security_problems(manifests) == []
    assert rollout_problems(manifests) == []
    assert autoscaler_problems(manifests) == []


def test_the_ingress_never_routes_metrics(manifests: list[Manifest]) -> None:
    assert ingress_problems(manifests) == []


def test_the_engines_logging_init_container_writes_a_config_rasa_can_read(
    manifests: list[Manifest], tmp_path: Path
) -> None:
    """Runs the init container's own command (its Python code) and reads the file it writes."""
    engine = deployment(manifests, "engine")
    (init,) = pod_spec(engine)["initContainers"]
    command = [str(part) for part in init["command"]]
    assert command[1] == "-c"
    target = tmp_path / "logging.json"
    written = subprocess.run(
        [sys.executable, "-c", command[2], str(target)],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "ZIJWIJZER_SECRET_KEY": "x", "ZIJWIJZER_LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert written.returncode == 0, written.stderr
    config = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert config["formatters"]["main"]["()"] == "bot.common.logs.JsonFormatter"
    assert command[3] == argument(main_container(engine)["command"], "--logging-config-file")


# ---- each check can fail: a broken copy of the manifests in a temporary folder -----------------


def _edit(path: str, edit: Callable[[list[Document]], None]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        file = folder / path
        documents = [d for d in yaml.safe_load_all(file.read_text(encoding="utf-8")) if d]
        edit(documents)
        file.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")

    return apply


def _first_deployment(documents: list[Document]) -> Document:
    return next(d for d in documents if d["kind"] == "Deployment")


def _mutate_main(change: Callable[[Document], None]) -> Callable[[list[Document]], None]:
    def edit(documents: list[Document]) -> None:
        change(_first_deployment(documents)["spec"]["template"]["spec"]["containers"][0])

    return edit


def _mutate_pod(change: Callable[[Document], None]) -> Callable[[list[Document]], None]:
    def edit(documents: list[Document]) -> None:
        change(_first_deployment(documents)["spec"]["template"]["spec"])

    return edit


def _env(container: Document, name: str) -> Document:
    return next(entry for entry in container["env"] if entry["name"] == name)


def _command_swap(old: str, new: str) -> Callable[[Document], None]:
    def change(container: Document) -> None:
        container["command"] = [new if part == old else part for part in container["command"]]

    return change


def _literal_database_url(container: Document) -> None:
    entry = _env(container, "ZIJWIJZER_DATABASE_URL")
    entry.pop("valueFrom")
    entry["value"] = "sqlite://"


def _drop_closed_metrics(documents: list[Document]) -> None:
    ingress = next(d for d in documents if d["kind"] == "Ingress")
    rule = ingress["spec"]["rules"][0]["http"]
    rule["paths"] = [p for p in rule["paths"] if p["path"] != "/metrics"]


def _exact_metrics_to_web(documents: list[Document]) -> None:
    ingress = next(d for d in documents if d["kind"] == "Ingress")
    rule = ingress["spec"]["rules"][0]["http"]
    for entry in rule["paths"]:
        if entry["path"] == "/webhooks/metrics":
            entry["backend"] = {"service": {"name": "zijwijzer-engine", "port": {"name": "http"}}}


BROKEN: dict[str, tuple[Callable[[Path], None], str]] = {
    "unknown field (strict schema)": (
        _edit("web.yaml", _mutate_main(lambda c: c.update(imagePullPolicyy="Always"))),
        "imagePullPolicyy",
    ),
    "wrong type": (
        _edit("engine.yaml", lambda ds: _first_deployment(ds)["spec"].update(replicas="2")),
        "replicas",
    ),
    "unknown kind": (
        _edit("configmap.yaml", lambda ds: ds[0].update(kind="ConfigMapp")),
        "ConfigMapp",
    ),
    "readiness probe path": (
        _edit(
            "web.yaml",
            _mutate_main(lambda c: c["readinessProbe"]["httpGet"].update(path="/readyz")),
        ),
        "readiness probe asks /readyz",
    ),
    "liveness probe missing": (
        _edit("action-server.yaml", _mutate_main(lambda c: c.pop("livenessProbe"))),
        "no liveness probe",
    ),
    "engine without startup probe": (
        _edit("engine.yaml", _mutate_main(lambda c: c.pop("startupProbe"))),
        "no startup probe",
    ),
    "startup probe too impatient": (
        _edit("engine.yaml", _mutate_main(lambda c: c["startupProbe"].update(failureThreshold=3))),
        "gives up after",
    ),
    "worker probe on the wrong port": (
        _edit(
            "handoff-worker.yaml",
            _mutate_main(lambda c: c["ports"][0].update(containerPort=5056)),
        ),
        "on port 5056",
    ),
    "action server port": (
        _edit("action-server.yaml", _mutate_main(_command_swap("5055", "5056"))),
        "--port",
    ),
    "engine --cors differs from the allowed origins": (
        _edit(
            "engine.yaml",
            _mutate_main(_command_swap("https://www.example.org", "https://other.example")),
        ),
        "--cors",
    ),
    "engine misses a variable of credentials.yml": (
        _edit(
            "engine.yaml",
            _mutate_main(
                lambda c: c.update(
                    env=[e for e in c["env"] if e["name"] != "ZIJWIJZER_SLACK_TOKEN"]
                )
            ),
        ),
        "ZIJWIJZER_SLACK_TOKEN",
    ),
    "engine with the project on its path": (
        _edit("engine.yaml", _mutate_main(lambda c: _env(c, "PYTHONPATH").update(value="/app"))),
        "PYTHONPATH",
    ),
    "engine run with rasa instead of bot.engine": (
        _edit("engine.yaml", _mutate_main(_command_swap("bot.engine", "rasa"))),
        "the engine runs",
    ),
    "action server module": (
        _edit(
            "action-server.yaml", _mutate_main(_command_swap("bot.app.action_server", "rasa_sdk"))
        ),
        "runs rasa_sdk",
    ),
    "misspelt variable": (
        _edit("configmap.yaml", lambda ds: ds[0]["data"].update(ZIJWIJZER_RETENTION_DAY="180")),
        "ZIJWIJZER_RETENTION_DAY is read by nothing",
    ),
    "real value in the Secret": (
        _edit(
            "secret.example.yaml",
            lambda ds: ds[0]["stringData"].update(ZIJWIJZER_SECRET_KEY="s3cr3t-abc"),
        ),
        "holds a value",
    ),
    "real password in a URL of the Secret": (
        _edit(
            "secret.example.yaml",
            lambda ds: ds[0]["stringData"].update(
                ZIJWIJZER_REDIS_URL="redis://u:hunter2@CHANGE_ME.example:6379/0"
            ),
        ),
        "ZIJWIJZER_REDIS_URL holds a value",
    ),
    "base64 value in the Secret": (
        _edit(
            "secret.example.yaml",
            lambda ds: ds[0].update(
                data={"ZIJWIJZER_REST_API_KEY": base64.b64encode(b"k3y").decode()}
            ),
        ),
        "ZIJWIJZER_REST_API_KEY holds a value",
    ),
    "secret as a literal value": (
        _edit(
            "web.yaml",
            _mutate_main(_literal_database_url),
        ),
        "ZIJWIJZER_DATABASE_URL",
    ),
    "no memory request": (
        _edit(
            "handoff-worker.yaml", _mutate_main(lambda c: c["resources"]["requests"].pop("memory"))
        ),
        "no memory request",
    ),
    "writable root file system": (
        _edit(
            "web.yaml",
            _mutate_main(lambda c: c["securityContext"].update(readOnlyRootFilesystem=False)),
        ),
        "root file system writable",
    ),
    "root allowed": (
        _edit(
            "engine.yaml", _mutate_pod(lambda p: p["securityContext"].update(runAsNonRoot=False))
        ),
        "may run as root",
    ),
    "service links on": (
        _edit("web.yaml", _mutate_pod(lambda p: p.update(enableServiceLinks=True))),
        "enableServiceLinks",
    ),
    "rolling update that drops a replica": (
        _edit(
            "engine.yaml",
            lambda ds: _first_deployment(ds)["spec"]["strategy"]["rollingUpdate"].update(
                maxUnavailable=1
            ),
        ),
        "maxUnavailable",
    ),
    "no disruption budget for the action server": (
        _edit(
            "action-server.yaml",
            lambda ds: ds.remove(next(d for d in ds if d["kind"] == "PodDisruptionBudget")),
        ),
        "no PodDisruptionBudget for the action-server",
    ),
    "autoscaler on the web app instead": (
        _edit(
            "action-server.yaml",
            lambda ds: next(d for d in ds if d["kind"] == "HorizontalPodAutoscaler")["spec"][
                "scaleTargetRef"
            ].update(name="zijwijzer-web"),
        ),
        "no HorizontalPodAutoscaler scales the action server",
    ),
    "/metrics routed to the web app": (
        _edit("ingress.yaml", _drop_closed_metrics),
        "/metrics reaches the Service zijwijzer-web",
    ),
    "engine metrics routed": (
        _edit("ingress.yaml", _exact_metrics_to_web),
        "/webhooks/metrics/ reaches the Service zijwijzer-engine",
    ),
    "file left out of the kustomization": (
        lambda folder: (folder / "extra.yaml").write_text(
            (folder / "networkpolicy.yaml")
            .read_text(encoding="utf-8")
            .replace("name: zijwijzer-action-server", "name: zijwijzer-extra", 1),
            encoding="utf-8",
        ),
        "does not list extra.yaml",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_check_fails_on_a_broken_manifest(case: str, facts: Facts, tmp_path: Path) -> None:
    folder = tmp_path / "k8s"
    shutil.copytree(K8S, folder)
    breaks, expected = BROKEN[case]
    breaks(folder)
    problems = all_problems(folder, facts)
    assert any(expected in problem for problem in problems), problems


def test_all_checks_pass_on_the_manifests_as_they_are(facts: Facts) -> None:
    # The baseline of the negative tests above: each of them breaks one thing of this.
    assert all_problems(K8S, facts) == []


def test_the_image_holds_what_the_manifests_run(manifests: list[Manifest], facts: Facts) -> None:
    """deploy/Dockerfile cannot be built here (no Docker engine): at least its paths, user and
    ports are the ones the manifests and the launcher use."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    app = Path("/app")
    engine = main_container(deployment(manifests, "engine"))
    command = [str(part) for part in engine["command"]]
    assert argument(command, "--model") == str(app / assistant.MODEL.relative_to(ROOT))
    assert argument(command, "--endpoints") == str(app / "endpoints.yml")
    assert argument(command, "--credentials") == str(app / "credentials.yml")
    assert command[0] == str(app / assistant.RASA_PYTHON.relative_to(ROOT))
    plugins = app / assistant.PLUGIN_PATH.relative_to(ROOT)
    assert env_value(engine, manifests, "PYTHONPATH") == str(plugins)
    linked = " ".join(f"/app/bot/{name}" for name in assistant.ENGINE_PACKAGES)
    assert f"ln -s {linked} {plugins}/bot/" in dockerfile
    for manifest, spec in pods(manifests):
        context = spec["securityContext"]
        assert f"USER {context['runAsUser']}:{context['runAsGroup']}" in dockerfile, manifest.path
        for container in containers(spec):
            assert str(container["command"][0]).startswith("/app/.venv"), manifest.path
    exposed = set(re.findall(r"^EXPOSE (.+)$", dockerfile, re.MULTILINE)[0].split())
    d = facts.defaults
    assert {
        str(p) for p in (d.rasa_port, d.action_port, d.web_port, d.worker_health_port)
    } == exposed
    # The model is trained inside the build and the venvs come from the locks, with make's steps.
    assert "RUN make setup" in dockerfile
    assert "make train" in dockerfile
