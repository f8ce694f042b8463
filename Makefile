VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install test lint typecheck lock migration demo bench

install:            ## create the virtualenv and install from the lock file
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .

test:               ## lint, type-check and run the test suite (what CI runs)
	bash .ci/run

lint:               ## ruff lint and format check
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

typecheck:          ## mypy strict on the packages
	$(VENV)/bin/mypy

lock:               ## re-resolve requirements.lock with hashes from pyproject.toml
	$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --extra dev -o requirements.lock pyproject.toml

migration:          ## regenerate the initial migration from shop/models.py (pre-release only)
	rm -f shop/migrations/versions/0001_initial_schema.py /tmp/shopagent-mig.db
	$(PY) -c "from alembic import command; from shop.db import alembic_config; command.revision(alembic_config('sqlite:////tmp/shopagent-mig.db'), message='initial schema', autogenerate=True, rev_id='0001')"

demo:               ## ingest the demo store and serve it on http://127.0.0.1:8000
	$(VENV)/bin/shopagent serve

bench:              ## run the benchmarks
	$(PY) -m benchmarks
