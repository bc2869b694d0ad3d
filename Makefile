# Every target installs what it needs itself (tests/tools/venv.sh), so each works on a
# fresh machine. `make test` is the test command CI runs; `make demo` is the main job.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PREWARM_CACHE ?= $(HOME)/.cache/prewarm-k8s
export PREWARM_CACHE
VENV = $(PREWARM_CACHE)/venv
PY = $(VENV)/bin/python
# Ansible loads a collection only from an ansible_collections/<namespace>/<name> tree:
# tests/tools/venv.sh links this checkout into one of its own (one per checkout, so two
# checkouts never see each other's files). The bundled collections (kubernetes.core) are
# found in the venv by Ansible itself.
CHECKOUT_ID := $(shell printf '%s' "$(CURDIR)" | sha256sum | cut -c1-12)
export ANSIBLE_COLLECTIONS_PATH := $(PREWARM_CACHE)/checkouts/$(CHECKOUT_ID)
# One per checkout too: checkouts building at the same time never overwrite each other's tarball.
BUILD_DIR ?= $(PREWARM_CACHE)/build/$(CHECKOUT_ID)

.PHONY: deps test unit sanity lint build release-build import-check integration demo bench bench-smoke bench-summary test-oldest ee ee-smoke test-ee

deps:
	@tests/tools/venv.sh >/dev/null

unit: deps
	tests/tools/pytest.sh $(PY) tests/unit -q

sanity: deps
	tests/tools/sanity.sh

# ansible-lint over roles and playbooks; ruff over the Python (ruff.toml); the changelog fragments.
lint: deps
	PATH="$(VENV)/bin:$$PATH" ansible-lint --profile production
	$(VENV)/bin/ruff check --no-cache plugins tests extensions
	$(VENV)/bin/antsibull-changelog lint

# galaxy.yml's `repository`, the address of the collection's public source repository, is the
# publisher's to give: COLLECTION_REPOSITORY (a make or environment variable) fills it in a copy
# of galaxy.yml at build time (tests/tools/build.sh). `release-build` refuses to run without it;
# `build`, the test build, uses it when given and otherwise an address in the reserved .invalid
# domain that says it is a test build.
COLLECTION_REPOSITORY ?=
export COLLECTION_REPOSITORY

build: deps
	tests/tools/build.sh $(BUILD_DIR) test

release-build: deps
	tests/tools/build.sh $(BUILD_DIR) release

# galaxy-importer, the check Galaxy and Automation Hub run on an upload, on the tarball `build`
# wrote; any warning or error in its log fails it.
import-check: build
	tests/tools/import-check.sh $(BUILD_DIR)

integration: deps
	tests/tools/integration.sh $(PY) -q -p no:cacheprovider --durations=30

test: unit sanity lint build import-check ee-smoke integration

# The oldest Kubernetes release the collection supports, outside `make test` (its own build
# takes 10-16 minutes): the cluster is brought up on it, the integration suite runs, and the
# cluster is taken down; docs/testing.md records the runs. Any release pinned under
# tests/cluster/gomod runs the same way: `make integration K8S_VERSION=1.36.3` on a cluster
# taken down first.
K8S_OLDEST = 1.35.4
test-oldest: deps
	tests/cluster/cluster-down.sh
	$(MAKE) integration K8S_VERSION=$(K8S_OLDEST)
	tests/cluster/cluster-down.sh

# The main job: the local demo cluster and the OS-upgrade playbook over its three pools, ending
# with the per-node summary.
demo: deps cluster-up
	$(VENV)/bin/ansible-playbook tests/demo/prepare.yml -e @tests/demo/vars.yml
	$(VENV)/bin/ansible-playbook prewarm.k8s.os_upgrade -i tests/demo/inventory.yml -e @tests/demo/vars.yml

# The pre-warm cycle on kwok pools of 100 and 1,000 nodes, this collection against the plain
# kubernetes.core way (docs/benchmarks.md): writes tests/bench/results.json, docs/benchmarks.md and
# docs/benchmarks.svg. Takes over an hour, most of it the plain way's per-node loops.
# bench-smoke: 20 nodes (pool bench-smoke), 4 batches of 5, both ways, every end-state check, no figures written, no targets.
BENCH_SIZES ?= 100,1000
BENCH_MAX_PULLING ?= 50

bench: deps cluster-up
	$(PY) tests/bench/bench.py --sizes $(BENCH_SIZES) --max-pulling $(BENCH_MAX_PULLING)

bench-smoke: deps cluster-up
	PREWARM_BENCH_POOL=bench-smoke $(PY) tests/bench/bench.py --sizes 20 --max-pulling 5 --smoke

# The os_upgrade playbook's Summary play over 5,000 synthetic node hosts, without a cluster
# (tests/bench/summary_bench.py, docs/benchmarks.md); about two minutes a run, most of it setting the facts up.
bench-summary: deps
	$(PY) tests/bench/summary_bench.py --hosts 5000 --scenario failures --scenario released --scenario unreached

# The execution environment of execution-environment.yml, built on this machine without a container
# registry or Galaxy (tests/ee/build-ee.sh: podman, a Debian base image made with mmdebstrap,
# ansible-builder in $(PREWARM_CACHE)/ee/venv), tagged with the collection's version. As root.
# test-ee: the OS-upgrade window over the demo's kwok pools in that image, run the way AWX runs a
# job (tests/ee/test_ee_runner.py; the cluster must be up), outside `make test` (docs/testing.md has
# its times); `make test` runs ee-smoke.
EE_VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
EE_IMAGE ?= localhost/prewarm-ee:$(EE_VERSION)

ee: build
	tests/ee/build-ee.sh $(BUILD_DIR)/prewarm-k8s-$(EE_VERSION).tar.gz $(EE_IMAGE)

# In `make test`: the image is built (cached after the first time) and holds what it should.
ee-smoke: ee
	tests/ee/smoke.sh $(EE_IMAGE) $(EE_VERSION)

test-ee: ee
	PREWARM_EE_IMAGE=$(EE_IMAGE) tests/tools/pytest.sh $(PY) tests/ee -q -s -p no:cacheprovider --durations=5

include tests/cluster/cluster.mk
