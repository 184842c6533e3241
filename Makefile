# authframe: every target loops over every module (each folder with a go.mod).
SHELL := /bin/bash
MODULES := $(shell find . -name go.mod -not -path './.git/*' -not -path '*/testdata/*' -exec dirname {} \; | sed 's|^\./||' | sort)
GO ?= go
TESTFLAGS ?= -race -count=1 -timeout 20m

.PHONY: test race vet fmt-check files-check tidy-check tidy bench bench-peers bench-scale bench-plots run test-gowork-off check integration-hint

## test: every module's tests with the race detector (integration tests need the env vars below)
test: integration-hint
	@set -e; for m in $(MODULES); do \
		if [ -z "$$(find $$m -name '*.go' -print -quit)" ]; then continue; fi; \
		echo "== go test $$m"; \
		(cd $$m && $(GO) test $(TESTFLAGS) ./...); \
	done

race: test

integration-hint:
	@if [ -z "$$AUTHFRAME_TEST_REDIS_URL" ]; then echo "note: AUTHFRAME_TEST_REDIS_URL is unset, so Redis integration tests skip (run: AUTHFRAME_TEST_REDIS_URL=redis://127.0.0.1:6379/0 make test)"; fi
	@if [ -z "$$AUTHFRAME_TEST_DATABASE_URL" ]; then echo "note: AUTHFRAME_TEST_DATABASE_URL is unset, so PostgreSQL integration tests skip (run: AUTHFRAME_TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' make test)"; fi

## test-gowork-off: each module on its own, through its replace directives
test-gowork-off:
	@set -e; for m in $(MODULES); do \
		if [ -z "$$(find $$m -name '*.go' -print -quit)" ]; then continue; fi; \
		echo "== GOWORK=off go test $$m"; \
		(cd $$m && GOWORK=off $(GO) test -count=1 -timeout 20m ./...); \
	done

vet:
	@set -e; for m in $(MODULES); do \
		if [ -z "$$(find $$m -name '*.go' -print -quit)" ]; then continue; fi; \
		echo "== go vet $$m"; (cd $$m && $(GO) vet ./...); \
	done

fmt-check:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard -- '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## files-check: fails, naming the file, when a tracked file is over 1 MiB or a compiled
## binary (ELF, Mach-O or PE magic bytes, whatever its mode): build outputs belong in
## .gitignore, not in the history every clone downloads.
files-check:
	@fail=0; \
	while IFS= read -r -d '' f; do \
		if [ -L "$$f" ] || [ ! -f "$$f" ]; then continue; fi; \
		size=$$(wc -c < "$$f"); \
		if [ "$$size" -gt 1048576 ]; then echo "files-check: $$f is $$size bytes, over 1 MiB"; fail=1; fi; \
		magic=$$(od -An -tx1 -N4 -- "$$f" | tr -d ' \n'); \
		case "$$magic" in \
		7f454c46) echo "files-check: $$f is an ELF binary"; fail=1;; \
		feedface|cefaedfe|feedfacf|cffaedfe|cafebabe|cafebabf) echo "files-check: $$f is a Mach-O binary"; fail=1;; \
		4d5a*) \
			pe=$$(od -An -tu1 -j60 -N4 -- "$$f" 2>/dev/null | awk 'NF == 4 { print $$1 + 256*$$2 + 65536*$$3 + 16777216*$$4 }'); \
			if [ -n "$$pe" ] && [ "$$(od -An -tx1 -j"$$pe" -N4 -- "$$f" 2>/dev/null | tr -d ' \n')" = 50450000 ]; then \
				echo "files-check: $$f is a PE binary"; fail=1; \
			fi;; \
		esac; \
	done < <(git ls-files -z); \
	exit $$fail

tidy:
	@set -e; for m in $(MODULES); do (cd $$m && GOWORK=off $(GO) mod tidy); done

## tidy-check: fails when go mod tidy would change a go.mod or go.sum
tidy-check:
	@set -e; fail=0; for m in $(MODULES); do \
		cp $$m/go.mod /tmp/af-go.mod; [ -f $$m/go.sum ] && cp $$m/go.sum /tmp/af-go.sum || rm -f /tmp/af-go.sum; \
		(cd $$m && GOWORK=off $(GO) mod tidy); \
		if ! cmp -s $$m/go.mod /tmp/af-go.mod || { [ -f /tmp/af-go.sum ] && ! cmp -s $$m/go.sum /tmp/af-go.sum; }; then \
			echo "go mod tidy changes $$m"; fail=1; \
			cp /tmp/af-go.mod $$m/go.mod; [ -f /tmp/af-go.sum ] && cp /tmp/af-go.sum $$m/go.sum; \
		fi; \
	done; exit $$fail

## bench: every module's benchmarks
bench:
	@set -e; for m in $(MODULES); do \
		if [ "$$m" = bench ] || [ -z "$$(find $$m -name '*_test.go' -print -quit)" ]; then continue; fi; \
		echo "== go test -bench $$m"; (cd $$m && $(GO) test -run '^$$' -bench . -benchmem ./...); \
	done

## bench-peers: authframe's adapters side by side with other JWT middlewares
bench-peers:
	cd bench && $(GO) test -run '^$$' -bench . -benchmem -count 6 ./... | tee /tmp/authframe-bench-peers.txt

## bench-scale: issue 17's scale measurements (bench/scale) against the Redis and PostgreSQL of
## AUTHFRAME_TEST_REDIS_URL and AUTHFRAME_TEST_DATABASE_URL (local defaults), about ten minutes;
## the figures go to bench/scale/results/scale.json, the output to /tmp/authframe-bench-scale.txt
bench-scale:
	cd bench/scale && $(GO) run ./cmd/scale -out results/scale.json 2>&1 | tee /tmp/authframe-bench-scale.txt; exit $${PIPESTATUS[0]}

## bench-plots: the SVG charts of bench/scale/results/scale.json, into bench/scale/charts
bench-plots:
	cd bench/scale && $(GO) run ./cmd/plots -in results/scale.json -out charts

## run: the net/http example with no setup: memory store, in-process cache, a fresh key
run:
	AUTHFRAME_INSECURE_COOKIES=$${AUTHFRAME_INSECURE_COOKIES:-1} $(GO) run ./examples/nethttp

check: files-check fmt-check vet tidy-check test
