"""The production shape (tools/prod.py) for tests: started once per session, on free ports.

HAProxy (deploy/haproxy.cfg) in front of two engines and two action servers, the web app and
the handoff worker, with a fresh PostgreSQL database (CREATE DATABASE with a random name on the
server of ZIJWIJZER_TEST_POSTGRES_URL, dropped afterwards) and the Redis of
ZIJWIJZER_TEST_REDIS_URL. Both are reached through a fault-injecting TCP proxy
(tests/faultproxy.py), so tests can cut either. Skipped, with the reason, when a URL or HAProxy
is missing. Starting takes about a minute (two engines at once on two cores).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.faultproxy import FaultProxy
from tests.postgres import POSTGRES_URL_ENV
from tests.stack import GENEROUS_LIMITS, SECRET_KEY, STARTUP_TIMEOUT_SECONDS, free_port
from tools import assistant, prod

REDIS_URL_ENV = "ZIJWIJZER_TEST_REDIS_URL"
# The action timeout of the shape under test: the default (bot/common/settings.py), so the faults
# behave as in production (HAProxy's 2 s for an action server is fitted to it).
ACTION_TIMEOUT_SECONDS = 5
# The manifests probe liveness every 20 s and restart after 3 failures: a hung process is
# found after a minute. The action servers here are probed every 5 s (same failures, same
# watcher), so the hang test waits 15 s; the engines keep the manifests' period, as a busy
# engine under the tests' load may answer a probe late.
QUICK_LIVENESS_PERIOD_SECONDS = 5.0


def quick_liveness(probes: dict[str, prod.Probes]) -> dict[str, prod.Probes]:
    actions = probes["actions"]
    assert actions.liveness is not None
    quick = dataclasses.replace(actions.liveness, period=QUICK_LIVENESS_PERIOD_SECONDS)
    return {**probes, "actions": dataclasses.replace(actions, liveness=quick)}


@dataclass
class Prod:
    stack: prod.ProdStack
    # The tracker store and the app database (one database, through `postgres_proxy`).
    database_url: str
    postgres_proxy: FaultProxy
    redis_proxy: FaultProxy

    @property
    def url(self) -> str:
        """The public entry point (HAProxy)."""
        return self.stack.ports.public_url

    def engine_url(self, number: int) -> str:
        """One engine directly, bypassing the load balancer."""
        return f"http://127.0.0.1:{self.stack.ports.engines[number - 1]}"

    def events(self, conversation_id: str) -> list[dict[str, Any]]:
        """The stored events of a conversation, in the order they were written."""
        engine = create_engine(self.database_url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT type_name, data FROM events WHERE sender_id = :id ORDER BY id"),
                    {"id": conversation_id},
                ).all()
        finally:
            engine.dispose()
        return [{"event": row.type_name, **json.loads(row.data)} for row in rows]

    def diagnostics(self) -> str:
        parts = []
        for key in (*prod.PROGRAMS, "supervisord", "watch"):
            path = self.stack.log(key)
            lines = path.read_text(errors="replace").splitlines()[-30:] if path.exists() else []
            parts.append(f"--- {key}\n" + "\n".join(lines))
        return "\n".join(parts)


def _service_urls() -> tuple[str, str]:
    postgres = os.environ.get(POSTGRES_URL_ENV, "").strip()
    redis = os.environ.get(REDIS_URL_ENV, "").strip()
    if not postgres:
        pytest.skip(f"{POSTGRES_URL_ENV} not set: production-shape tests skipped")
    if not redis:
        pytest.skip(f"{REDIS_URL_ENV} not set: production-shape tests skipped")
    if prod.haproxy_binary() is None:
        pytest.skip("HAProxy missing (apt-get install haproxy): production-shape tests skipped")
    if not assistant.MODEL.exists():
        pytest.fail(f"no trained model at {assistant.MODEL}: run `make train` (or `make pytest`)")
    return postgres, redis


@pytest.fixture(scope="session")
def prod_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prod]:
    postgres_url, redis_url = _service_urls()
    admin_url = make_url(postgres_url)
    database = f"zw_prod_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    redis_parts = urlsplit(redis_url)
    postgres_proxy = FaultProxy(admin_url.host or "127.0.0.1", admin_url.port or 5432)
    redis_proxy = FaultProxy(redis_parts.hostname or "127.0.0.1", redis_parts.port or 6379)
    database_url = admin_url.set(
        host="127.0.0.1", port=postgres_proxy.port, database=database
    ).render_as_string(hide_password=False)
    credentials = redis_parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@" if credentials else ""
    proxied_redis = urlunsplit(redis_parts._replace(netloc=f"{netloc}127.0.0.1:{redis_proxy.port}"))
    ports: set[int] = set()
    while len(ports) < 8:
        ports.add(free_port())
    public, engine1, engine2, actions1, actions2, balancer, web, worker = sorted(ports)
    variables = {
        "ZIJWIJZER_PROD_PORT": str(public),
        "ZIJWIJZER_PROD_ENGINE_PORTS": f"{engine1},{engine2}",
        "ZIJWIJZER_PROD_ACTION_PORTS": f"{actions1},{actions2}",
        "ZIJWIJZER_PROD_ACTIONS_PORT": str(balancer),
        "ZIJWIJZER_WEB_PORT": str(web),
        "ZIJWIJZER_WORKER_HEALTH_PORT": str(worker),
        "ZIJWIJZER_DATABASE_URL": database_url,
        "ZIJWIJZER_TRACKER_DATABASE_URL": database_url,
        "ZIJWIJZER_REDIS_URL": proxied_redis,
        # The shape's own defaults (the load balancer's origin), whatever the shell says.
        "ZIJWIJZER_PUBLIC_URL": "",
        "ZIJWIJZER_CHAT_URL": "",
        "ZIJWIJZER_ALLOWED_ORIGINS": "",
        "ZIJWIJZER_SECRET_KEY": SECRET_KEY,
        "ZIJWIJZER_REST_API_KEY": "",
        "ZIJWIJZER_ENGINE_API_JWT_SECRET": "",
        "ZIJWIJZER_HANDOFF_WEBHOOK_URL": "",
        "ZIJWIJZER_ACTION_TIMEOUT_SECONDS": str(ACTION_TIMEOUT_SECONDS),
        "ZIJWIJZER_LOG_LEVEL": "INFO",
        "RASA_TELEMETRY_ENABLED": "false",
        **GENEROUS_LIMITS,
    }
    environ = {**os.environ, **variables}
    stack_ports = prod.Ports.from_env(environ)
    env = prod.prod_env(environ, stack_ports)
    # Short: a unix socket's path must fit in 108 bytes.
    folder = Path(tempfile.mkdtemp(prefix="zw-prod-"))
    stack = prod.ProdStack(env, stack_ports, folder, probes=quick_liveness(prod.PROBES))
    running = Prod(stack, database_url, postgres_proxy, redis_proxy)
    print(f"production shape: logs in {folder}")
    try:
        started = time.monotonic()
        with (folder / "catalogue.log").open("wb") as out:
            prod.load_catalogue(env, out)
        try:
            stack.start_all(timeout=STARTUP_TIMEOUT_SECONDS)
        except (RuntimeError, TimeoutError) as error:
            pytest.fail(f"{error}\n{running.diagnostics()}")
        print(f"production shape ready in {time.monotonic() - started:.0f} s")
        yield running
    finally:
        stack.stop()
        if not os.environ.get("ZIJWIJZER_TEST_KEEP_LOGS"):
            shutil.rmtree(folder, ignore_errors=True)
        postgres_proxy.close()
        redis_proxy.close()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def prod_shape(prod_stack: Prod) -> Iterator[Prod]:
    """The session's shape, whole: every process running and ready (supervisord restarts a
    killed one by itself; this waits for it), PostgreSQL and Redis connected."""
    for proxy in (prod_stack.postgres_proxy, prod_stack.redis_proxy):
        proxy.restore()
    for key in prod.PROGRAMS:
        with contextlib.suppress(OSError):
            if prod_stack.stack.info(key)["statename"] in ("STOPPED", "FATAL", "EXITED"):
                prod_stack.stack.rpc().supervisor.startProcess(key, False)
    try:
        prod_stack.stack.wait_ready(prod.PROGRAMS, timeout=STARTUP_TIMEOUT_SECONDS)
    except (RuntimeError, TimeoutError) as error:
        pytest.fail(f"{error}\n{prod_stack.diagnostics()}")
    yield prod_stack
    for proxy in (prod_stack.postgres_proxy, prod_stack.redis_proxy):
        proxy.restore()
