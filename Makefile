# kubeadmin — build, test and try it.
#
#   make up      bring up a real single-node cluster in a test node
#   make test    install what the tests need (containerd, images) and run every test
#   make build   build bin/kubeadmin

SHELL := /bin/bash
GO ?= go
BIN := bin/kubeadmin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.1.0-dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w \
	-X github.com/kubeadmin/kubeadmin/internal/version.gitVersion=$(VERSION) \
	-X github.com/kubeadmin/kubeadmin/internal/version.gitCommit=$(COMMIT)

.PHONY: build test unit e2e bench up down clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kubeadmin

# The one test command (CI runs it through .ci/run).
test: build
	./hack/test.sh

unit:
	$(GO) test ./...

e2e: build
	./hack/test.sh e2e

bench: build
	./hack/bench/run.sh

up: build
	./hack/up.sh

down:
	./hack/up.sh down

clean:
	rm -rf bin
