# barge — run `make help` for the targets.
GO ?= go

.PHONY: help run test lint unit generate bench build fuzz

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

run: ## run the server on 127.0.0.1:7700 with data in ./.barge
	$(GO) run ./cmd/barge server

build: ## build ./barge
	$(GO) build -o barge ./cmd/barge

test: lint ## what CI runs: vet, gofmt, every test with the race detector, then a bounded fuzz run
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) fuzz FUZZTIME=50000x

# A count of executions (Nx), not a duration, by default and in CI: with a duration Go 1.26's fuzz
# coordinator can report a spurious "context deadline exceeded" as the time runs out
# (golang/go#75804, fixed in Go 1.27). FUZZTIME=60s still works for a longer local run.
FUZZTIME ?= 300000x
fuzz: ## fuzz each request decoder for FUZZTIME (SigV4 parsing, Batch and Logs JSON, Lambda paths and bodies)
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/sigv4/
	$(GO) test -run '^$$' -fuzz '^FuzzBatchRequests$$' -fuzztime $(FUZZTIME) ./internal/api/
	$(GO) test -run '^$$' -fuzz '^FuzzLambdaRequests$$' -fuzztime $(FUZZTIME) ./internal/api/

lint: ## go vet and gofmt
	$(GO) vet ./...
	@out=$$(gofmt -l cmd internal); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit: ## the fast tests only (no server processes)
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /e2e)

generate: ## regenerate the AWS shapes and docs/compatibility.md from ../shared/aws-models
	$(GO) generate ./internal/awstypes/... ./internal/compat/...

bench: ## Go benchmarks of the hot paths, then the end-to-end bench command
	$(GO) test -run xxx -bench . ./internal/store/sqlite/ ./internal/sched/ ./internal/sigv4/ ./internal/logs/
	$(GO) run ./cmd/barge bench
