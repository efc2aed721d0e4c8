# ---- the production shape on one machine: make prod (tools/prod.py, deploy/haproxy.cfg) ----
# Included by the top-level Makefile (PY, VENV, ...). HAProxy in front of two engines and two
# action servers, the web app and the handoff worker, with PostgreSQL and Redis (the local
# ones by default; ZIJWIJZER_DATABASE_URL, ZIJWIJZER_TRACKER_DATABASE_URL, ZIJWIJZER_REDIS_URL).

# Debian's HAProxy, installed with apt on first use when missing and we may (root);
# otherwise say how. The production tests (tests/prod) need it too.
HAPROXY := /usr/sbin/haproxy
.PHONY: prod haproxy
haproxy:
	@[ -x $(HAPROXY) ] || { [ "$$(id -u)" = 0 ] && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy >/dev/null; } || \
	  { echo "make prod needs Debian's HAProxy: apt-get install haproxy"; exit 1; }

# Every process runs under supervisord (pinned in requirements/app.lock): restarted with backoff
# when it dies, and when it hangs (tools/prod_watch.py probes each as Kubernetes would).
prod: setup train haproxy
	@$(PY) tools/prod.py

# Each process of the running `make prod`: state, pid, uptime, starts, health.
.PHONY: prod-status prod-reload
prod-status: setup
	@$(PY) tools/prod.py status

# A rolling update of the running `make prod`: the model trained when data or config changed,
# then the engines replaced one at a time (drained in HAProxy, restarted, taken back when
# ready), while the other engine takes every turn.
prod-reload: setup train
	@$(PY) tools/prod.py reload

pytest-prod: train haproxy

# Locust against the production shape (bench/prod.py, bench/locustfile.py): 10, 50 and 200
# users, then one engine and one action server; about 10 minutes. Figures in docs/performance.md.
.PHONY: bench-prod
bench-prod: setup train haproxy
	$(PY) bench/prod.py
