# Altay Skills — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-sqlite cluster-test cluster cluster-status cluster-down lint format typecheck bench clean venv venv-dev messages security backup restore upgrade

# Install into .venv from the locks: every package, transitive included, pinned with its
# hashes (pip --require-hashes refuses anything else); reinstall only when a lock changes.
# requirements*.txt name what the project asks for; `make upgrade` re-resolves the locks.
$(VENV)/.runtime: requirements.lock
	@test -x $(PY) || $(shell command -v $(PYTHON) || echo python3) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.lock
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	@touch $@

# Re-resolve both locks from requirements*.txt at the newest versions they allow
# (pip-tools, itself locked); then `make test` and commit the locks.
PIP_COMPILE = $(BIN)/pip-compile --generate-hashes --allow-unsafe --strip-extras \
	--no-header --no-emit-index-url --no-emit-find-links --quiet
upgrade: venv-dev
	$(PIP_COMPILE) --upgrade -o requirements.lock requirements.txt
	$(PIP_COMPILE) --upgrade -o requirements-dev.lock requirements-dev.txt

venv: $(VENV)/.runtime
venv-dev: $(VENV)/.dev

# SQLite + eager Celery unless DATABASE_URL / REDIS_URL are set; with REDIS_URL a real
# worker (and beat) run beside the server and stop with it.
# It prints what a person needs: the logins (seed_demo) and the address; migrate is quiet.
run: venv
	@DEBUG=1 $(PY) manage.py migrate --noinput -v 0
	@DEBUG=1 $(PY) manage.py seed_demo
	@echo ""
	@echo "打开 http://$(HOST):$(PORT)/ ，用上面的账号登录（演示密码 altay-demo-2019）；Ctrl+C 停止。"
	@echo ""
	@if [ -n "$$REDIS_URL" ]; then \
	  echo "Starting a Celery worker and beat on $$REDIS_URL"; \
	  DEBUG=1 $(BIN)/celery -A altay_skills worker -B --loglevel=INFO --concurrency=2 & \
	  trap "kill $$! 2>/dev/null" EXIT; \
	  DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT); \
	else \
	  DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT); \
	fi

# The whole suite: ruff, then pytest (PostgreSQL when DATABASE_URL is set).
# One worker more than the machine has cores (pytest-xdist; each worker has its own test
# database): many tests wait on Chromium, gunicorn, Celery or a lock, and the spare
# worker runs meanwhile (on 2 cores, 3 workers ran the suite in 18:57 against 22:11
# with 2, the cores still idle 13% of the time; docs/performance.md section 19).
# The tests marked `cluster` start PostgreSQL clusters of their own as root: cluster-test.
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: venv-dev lint
	DEBUG=1 $(BIN)/pytest -n $(PYTEST_WORKERS) -m "not cluster" $(PYTEST_ARGS)

# The statements written for each database (claims.selectors.read_listed, the warnings'
# statement) and the backup of the file (SQLite's backup API) on the embedded SQLite
# that `make run` uses: `make test` in CI runs on PostgreSQL only. About a minute.
SQLITE_TESTS = tests/claims/test_read_listed.py tests/claims/test_warnings.py \
	tests/claims/test_claim_list_rows.py tests/claims/test_list_page_rows.py \
	tests/test_query_counts.py tests/test_backup_restore.py
test-sqlite: venv-dev
	env -u DATABASE_URL -u REDIS_URL DEBUG=1 $(BIN)/pytest -n $(PYTEST_WORKERS) $(SQLITE_TESTS)

# Issue 21, as root on a host with Debian's postgresql-15, patroni, etcd-server, haproxy
# and redis-server: the point-in-time restore on a throwaway cluster of its own, and
# the faults under load on the whole cluster of seven hosts (make cluster); about ten
# minutes. Fails rather than skips with CI=true.
cluster-test: venv-dev
	DEBUG=1 $(BIN)/pytest -m cluster -s tests/cluster $(PYTEST_ARGS)

# The prefecture's data centre on this machine (deploy/cluster/altay_cluster.py): seven
# hosts in network namespaces — HAProxy, two PostgreSQL under Patroni (a synchronous
# standby), etcd, Redis with a replica and Sentinel, two app hosts — as root.
# http://10.77.0.10/ once it says "cluster up"; make cluster-down removes it all.
cluster: venv
	$(PY) deploy/cluster/altay_cluster.py up

cluster-status: venv
	$(PY) deploy/cluster/altay_cluster.py status

cluster-down: venv
	$(PY) deploy/cluster/altay_cluster.py down

# ruff, and the layering contracts of pyproject.toml (lint-imports): the stages of a
# claim's life depend one way, and inside an app pages/APIs/tasks sit above services.
lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: venv-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Production settings and code: check --deploy under DEBUG=0 with no warnings, bandit,
# and the OpenAPI schema valid with no warnings. CI runs it before `make test`.
PROD_ENV = -u DJANGO_ALLOW_ASYNC_UNSAFE DEBUG=0 ALLOWED_HOSTS=altay.example.cn \
	SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(48))') \
	AUDIT_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(48))')
security: venv-dev
	env $(PROD_ENV) $(PY) manage.py check --deploy --fail-level WARNING
	$(BIN)/bandit -c pyproject.toml -q -r accounts programs trainees claims quarters finance reporting classes altay_skills -x '*/migrations/*'
	env $(PROD_ENV) $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

# The visitor languages' catalogues (issue 17): extract the strings of the templates and
# code into locale/ug and locale/kk_Arab (GNU gettext's xgettext/msgmerge), then compile
# every django.po to the django.mo committed beside it (msgfmt), so `make run` needs no
# gettext. tests/test_translations.py fails when a .mo is older than its .po or when a
# string of a public or trainee page has no translation. (locale/zh_Hans is written by
# hand: Chinese for the few English strings of installed packages; locale/packages/kk_Arab
# is Django's and DRF's Cyrillic Kazakh transliterated to the Arabic script.)
MESSAGES_IGNORE = --ignore='.venv/*' --ignore='tests/*' --ignore='benchmarks/*' \
	--ignore='staticfiles/*' --ignore='.data/*' --ignore='node_modules/*'
messages: venv
	DEBUG=1 $(PY) manage.py makemessages -l ug -l kk_Arab --no-obsolete $(MESSAGES_IGNORE)
	DEBUG=1 $(PY) manage.py transliterate_kazakh
	DEBUG=1 $(PY) manage.py compilemessages --ignore='.venv/*' --ignore='staticfiles/*'

# The database (pg_dump, or a SQLite copy) and MEDIA_ROOT in one archive, and back.
# Run with the production environment (DATABASE_URL, MEDIA_ROOT, SECRET_KEY or DEBUG=1).
#   make backup [FILE=path.tar.gz]   (default BACKUP_DIR, .data/backups/…)  make restore FILE=… [FORCE=1]
backup: venv
	$(PY) manage.py backup $(if $(FILE),--output "$(FILE)",)

restore: venv
	@test -n "$(FILE)" || { echo "usage: make restore FILE=path/to/backup.tar.gz [FORCE=1]"; exit 2; }
	$(PY) manage.py restore "$(FILE)" $(if $(FORCE),--force,)

typecheck: venv-dev
	DEBUG=1 $(BIN)/mypy accounts programs trainees claims classes quarters finance reporting altay_skills

# Performance at scale (issue 7), on PostgreSQL only: generates 1,000,000 claims into
# BENCH_DATABASE_URL (created if missing) unless DATABASE_URL is set, then prints every
# figure and writes bench-results/latest.json. docs/performance.md explains the figures.
#   make bench BENCH_ARGS="--only rollup,workbook --reuse"   (parts; keep the dataset)
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/altay_bench
bench: venv-dev
	@command -v wrk >/dev/null || apt-get install -y wrk >/dev/null 2>&1 || \
	  echo "wrk is not installed and could not be: the HTTP part will say so"
	@export DATABASE_URL="$${DATABASE_URL:-$(BENCH_DATABASE_URL)}"; \
	case "$$DATABASE_URL" in postgres*) ;; \
	  *) echo "make bench runs on PostgreSQL only, not $$DATABASE_URL"; exit 2;; esac; \
	DEBUG=1 $(PY) -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .data staticfiles .pytest_cache .ruff_cache .mypy_cache test-artifacts
