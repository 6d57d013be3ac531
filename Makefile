# Two commands: `make demo` brings up the simulated lab with its dashboard and a campaign
# running in it; `make test` runs every check. `make bench` measures (docs/benchmarks.md).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTHON ?= python3
CHROMIUM := /usr/bin/chromium

.PHONY: demo test lint browser postgres redis docs bench reference screenshots clean

$(STAMP): pyproject.toml examples/balance/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# CPU build only: this wheel lies on disk here; a bare `torch` would pull CUDA (GBs)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	# a device package of its own (a balance), installed as a lab installs a vendor's
	$(PY) -m pip install --quiet --no-deps -e examples/balance
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lab serve --demo --start colour-match --trials 100 --tiled local

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# the dashboard is tested in Debian's chromium (playwright cannot download its own here)
browser:
	@test -x $(CHROMIUM) || (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null) \
		|| (echo "install Debian's chromium (apt-get install chromium) to test the dashboard" && false)

# the operator guide's pictures, taken by the browser test of the dashboard
SHOTS := 1-lab 2-campaigns 3-approvals 4-campaign 4b-run 5-emergency-stop 5b-diagnostics 6-audit 7-users 390-campaign 390-lab
screenshots: $(STAMP) browser
	SDL_SCREENSHOTS=build/screenshots $(PY) -m pytest -q -p no:cacheprovider tests/system/test_dashboard_browser.py
	mkdir -p docs/img/dashboard
	for shot in $(SHOTS); do cp build/screenshots/$$shot.png docs/img/dashboard/; done

# the store tests also run on a throwaway PostgreSQL server the tests start (initdb in a
# temporary folder): they need the server programs, Debian's postgresql package
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null \
		|| (apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null) \
		|| (echo "install Debian's postgresql (apt-get install postgresql) to test the store on a server" && false)

# the workcell tests queue plans in Redis (bluesky-queueserver's queue); the tests start a
# throwaway server: they need Debian's redis-server
redis:
	@command -v redis-server >/dev/null \
		|| (apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server >/dev/null) \
		|| (echo "install Debian's redis-server (apt-get install redis-server) to test workcells" && false)

# two workers, one module each at a time (module fixtures are set up once); torch with one
# thread in each, so that the two do not fight over the two cores
test: lint browser postgres redis docs
	OMP_NUM_THREADS=1 $(VENV)/bin/pytest -n 2 --dist loadscope

# the documentation site, offline, into build/site; any warning (a broken link, a
# docstring that does not match its function) fails the build
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

bench: $(STAMP)
	$(PY) -m bench

# docs/files.md and docs/schemas/ from the models that read the files (a test checks they are current)
reference: $(STAMP)
	$(PY) -m lab.files.reference docs

clean:
	rm -rf $(VENV) runs build .pytest_cache .ruff_cache .mypy_cache
