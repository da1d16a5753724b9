# kubeadmin — build, test and try it.
#
#   make up      bring up a real single-node cluster in a test node
#   make test    install what the tests need (containerd, images) and run every test
#   make build   build bin/kubeadmin
#   make tools   build the hack/tools commands (on the host; make up and make test do it first)

SHELL := /bin/bash
GO ?= go
BIN := bin/kubeadmin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.1.0-dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w \
	-X github.com/kubeadmin/kubeadmin/internal/version.gitVersion=$(VERSION) \
	-X github.com/kubeadmin/kubeadmin/internal/version.gitCommit=$(COMMIT)

.PHONY: build tools test unit e2e bench up down clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kubeadmin

# Tools are built on the host before any test node starts: a node has no
# route to the Go module proxy.
tools:
	./hack/tools.sh build

# The one test command (CI runs it through .ci/run).
test: build tools
	./hack/test.sh

unit:
	$(GO) test ./...
	./hack/tools.sh test

e2e: build tools
	./hack/test.sh e2e

bench: build
	./hack/bench/run.sh

up: build tools
	./hack/up.sh

down:
	./hack/up.sh down

clean:
	rm -rf bin
