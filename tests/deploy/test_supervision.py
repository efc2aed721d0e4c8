"""`make prod`'s supervision says what the Kubernetes manifests say, and HAProxy's action-server
timeout fits the engine's: checked offline.

- The watcher's probes (tools/prod.py PROBES) are the manifests' startup and liveness probes:
  same path, period, timeout, failure threshold, initial delay; supervisord's grace before
  SIGKILL is the pod's terminationGracePeriodSeconds; every program restarts when it exits
  (autorestart), as every Deployment's pods do (restartPolicy Always, the only one allowed).
- HAProxy gives an action server less time than the engine gives an attempt, so the engine sees
  HAProxy's 504 (and HAProxy takes the server out) before its own attempt ends.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.common.settings import load_settings
from bot.engine.engine_faults import ATTEMPT_SHARE
from tools import prod

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
COMPONENTS = {
    "engine": "engine.yaml",
    "actions": "action-server.yaml",
    "web": "web.yaml",
    "handoff": "handoff-worker.yaml",
}


def deployment(file: str) -> dict[str, Any]:
    documents = yaml.safe_load_all((K8S / file).read_text(encoding="utf-8"))
    found: dict[str, Any] = next(d for d in documents if d and d["kind"] == "Deployment")
    return found


def as_probe(manifest_probe: dict[str, Any] | None) -> prod.Probe | None:
    if manifest_probe is None:
        return None
    return prod.Probe(
        path=manifest_probe["httpGet"]["path"],
        period=manifest_probe.get("periodSeconds", 10),
        timeout=manifest_probe.get("timeoutSeconds", 1),
        failures=manifest_probe.get("failureThreshold", 3),
        initial_delay=manifest_probe.get("initialDelaySeconds", 0),
    )


@pytest.mark.parametrize("kind", sorted(COMPONENTS))
def test_the_watchers_probes_are_the_manifests(kind: str) -> None:
    pod = deployment(COMPONENTS[kind])["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert prod.PROBES[kind].liveness == as_probe(container.get("livenessProbe"))
    assert prod.PROBES[kind].startup == as_probe(container.get("startupProbe"))
    assert prod.STOP_WAIT_SECONDS[kind] == pod["terminationGracePeriodSeconds"]
    # Kubernetes restarts every container of a Deployment's pod that ends.
    assert pod.get("restartPolicy", "Always") == "Always"


def test_every_program_is_restarted_when_it_ends(tmp_path: Path) -> None:
    config = configparser.RawConfigParser()
    config.read_string(prod.supervisord_config(tmp_path, tmp_path / "supervisor.sock"))
    programs = [s.removeprefix("program:") for s in config.sections() if s.startswith("program:")]
    assert sorted(programs) == sorted(prod.PROGRAMS)
    for name in programs:
        section = config[f"program:{name}"]
        assert section["autorestart"] == "true"
        assert int(section["startretries"]) >= 3  # a crash loop backs off, then is logged FATAL
        assert section["stopasgroup"] == section["killasgroup"] == "true"
        assert int(section["stopwaitsecs"]) == prod.STOP_WAIT_SECONDS[prod.kind_of(name)]
    watcher = config["eventlistener:watch"]
    assert "PROCESS_STATE" in watcher["events"] and watcher["autorestart"] == "true"


def _backend(config: str, name: str) -> str:
    found = re.search(rf"^backend {name}\n(.*?)(?=^\S|\Z)", config, re.S | re.M)
    assert found, name
    return found.group(1)


def _seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)?", value).groups()  # type: ignore[union-attr]
    return float(number) / (1000 if unit == "ms" else 1)


def test_haproxy_takes_a_stalled_action_server_out_before_the_engine_gives_up() -> None:
    actions = _backend(prod.HAPROXY_CONFIG.read_text(encoding="utf-8"), "actions")
    server_timeout = re.search(r"^\s*timeout server (\S+)", actions, re.M)
    assert server_timeout
    attempt = load_settings().action_timeout_seconds * ATTEMPT_SHARE
    assert _seconds(server_timeout.group(1)) < attempt
    assert re.search(r"observe layer7 error-limit 1 on-error mark-down", actions)
    engines = _backend(prod.HAPROXY_CONFIG.read_text(encoding="utf-8"), "engines")
    assert "observe" not in engines  # a saturated engine answers late but works
