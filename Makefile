# psremote build and test entry points. `make test` is the command the
# README names and CI runs.

GO       ?= go
FUZZTIME ?= 10s
# Packages with native fuzz targets; each target runs for FUZZTIME.
FUZZPKGS ?= ./wsman ./auth/accounts ./auth/certmap ./auth/kerberos ./auth/ntlm ./auth/negotiate ./auth/spnego ./auth/encrypt ./auth/winbind ./internal/config ./internal/inventory ./client/trust ./client

.PHONY: all build test lint unit fuzz interop bench demo clean

all: build

build:
	$(GO) build -o psremote ./cmd/psremote

# The whole suite: formatting and vet, unit tests under the race
# detector, a short run of every fuzz target, and the real-peer interop
# tests (pywinrm, masterzen/winrm, winrm-client).
test: lint unit fuzz interop

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd test/interop && $(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh $(FUZZPKGS)

interop:
	cd test/interop && $(GO) test -count=1 -timeout 15m ./...

# The zero-configuration demo: a loopback server and a first command.
demo: build
	./scripts/demo.sh

bench:
	PSREMOTE_BENCH=1 $(GO) test -run='^$$' -bench=. -benchtime=1x -timeout 30m ./bench

clean:
	rm -f psremote
