# borderpost: the two commands that matter are `make demo` and `make test`.
# Both work on a fresh Debian machine with Go; `make test` installs the
# Debian packages its tests need when run as root.

GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# Debian packages the tests run against: real brokers (Mosquitto, NATS), a software TPM,
# and Chromium for the officers' page.
TEST_DEBS := mosquitto nats-server swtpm swtpm-tools chromium
DEMO_ARGS ?=
FUZZTIME  ?= 10m

.PHONY: all build demo test test-deps vet fuzz clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/borderpost ./agent
	$(GO) build -trimpath -o $(BIN)/simulator ./simulator

## demo: embedded broker, simulated central, the agent and scanners on loopback.
demo: build
	$(BIN)/simulator demo --agent $(BIN)/borderpost $(DEMO_ARGS)

## test: install missing Debian packages (as root), then run every test.
test: test-deps vet
	$(GO) test -count=1 -timeout 25m ./...

test-deps:
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
	@test -z "$$(gofmt -l agent store sync devices simulator)" || { gofmt -l agent store sync devices simulator; echo "gofmt needed"; exit 1; }

## fuzz: run every fuzz target for FUZZTIME each.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

clean:
	rm -rf $(BIN)
