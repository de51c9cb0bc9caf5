# borderpost: the two commands that matter are `make demo` and `make test`.
# Both work on a fresh Debian machine with Go; `make test` installs the
# Debian packages its tests need when run as root.

GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
# The build date is the commit's, never the clock: builds are reproducible.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
BUILD_DATE := $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILD_DATE)
# Debian packages the tests run against: real brokers (Mosquitto, NATS), a software TPM,
# Chromium for the officers' page, systemd-analyze for the service unit,
# groff for the manual page. npm (for axe-core, the page's accessibility
# check) comes from Debian only where no npm is on the PATH: a machine with
# Node.js from elsewhere has its own, and Debian's would conflict with it.
TEST_DEBS := mosquitto nats-server swtpm swtpm-tools chromium systemd groff-base
# What `make package` needs besides Go, and what its tests add.
PACKAGE_DEBS := osslsigncode openssl
PACKAGE_TEST_DEBS := lintian
# axe-core checks the officers' page for accessibility in its browser test;
# installed from the npm registry into bin/npm (never committed).
AXE_VERSION := 4.14.1
DEMO_ARGS ?=
FUZZTIME  ?= 10m
# make test runs the tests through gotestsum: a line per test as it ends
# (progress through the long simulator package), then every skip with its
# reason and the counts. Fetched through the module proxy on first use.
GOTESTSUM ?= $(GO) run gotest.tools/gotestsum@v1.13.0
TESTARGS  ?= ./...

.PHONY: all build demo test test-deps test-deps-debs vet fuzz clean package package-deps test-package

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/borderpost ./agent
	$(GO) build -trimpath -o $(BIN)/simulator ./simulator
	$(GO) build -trimpath -o $(BIN)/borderpost-central ./simulator

## demo: embedded broker, simulated central, the agent and scanners on loopback.
demo:
	@test -x $(BIN)/borderpost -a -x $(BIN)/simulator || echo "first run: building bin/borderpost and bin/simulator (a minute or two)"
	@$(MAKE) --no-print-directory build
	$(BIN)/simulator demo --agent $(BIN)/borderpost $(DEMO_ARGS)

## test: install missing Debian packages (as root), then run every test
## (TESTARGS narrows it, e.g. TESTARGS=./agent/...).
test: test-deps vet
	$(GOTESTSUM) --format testname --format-icons text \
		--post-run-command 'sh -c "echo tests: $$((TESTS_TOTAL - TESTS_FAILED - TESTS_SKIPPED)) passed, $$TESTS_FAILED failed, $$TESTS_SKIPPED skipped, of $$TESTS_TOTAL"' \
		-- -count=1 -timeout 25m $(TESTARGS)

## package: the Debian package, its SBOM and the signed Windows build in bin/package.
package: package-deps
	VERSION='$(VERSION)' COMMIT='$(COMMIT)' SOURCE_DATE_EPOCH='$(SOURCE_DATE_EPOCH)' OUT=$(BIN)/package sh packaging/build.sh

## test-package: as root, build twice and compare, verify the signature, lintian,
## and install, upgrade, remove and purge the package on this machine.
test-package:
	@$(MAKE) --no-print-directory test-deps-debs TEST_DEBS="$(TEST_DEBS) $(PACKAGE_DEBS) $(PACKAGE_TEST_DEBS)"
	$(GO) test -tags package -count=1 -timeout 15m -v ./packaging

package-deps:
	@$(MAKE) --no-print-directory test-deps-debs TEST_DEBS="$(PACKAGE_DEBS)"

test-deps: test-deps-debs
	@test -f $(BIN)/npm/node_modules/axe-core/axe.min.js && grep -q '"version": "$(AXE_VERSION)"' $(BIN)/npm/node_modules/axe-core/package.json || \
		{ command -v npm >/dev/null || $(MAKE) --no-print-directory test-deps-debs TEST_DEBS=npm; \
		  npm install --no-audit --no-fund --prefix $(BIN)/npm axe-core@$(AXE_VERSION) >/dev/null; }

## test-deps-debs: the Debian packages in TEST_DEBS, installed when missing (as root).
test-deps-debs:
	@missing=""; for p in $(TEST_DEBS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "missing Debian packages:$$missing; run 'make test' as root or 'sudo apt-get install$$missing'"; exit 1; \
		fi; \
	fi

vet:
	$(GO) vet ./...
	$(GO) vet -tags package ./packaging
	$(GO) vet -tags soak ./agent/match/name ./store
	GOOS=windows $(GO) build ./agent/... ./store/... ./sync ./devices/...
	@test -z "$$(gofmt -l agent store sync devices simulator packaging)" || { gofmt -l agent store sync devices simulator packaging; echo "gofmt needed"; exit 1; }

## fuzz: run every fuzz target for FUZZTIME each.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

clean:
	rm -rf $(BIN)
