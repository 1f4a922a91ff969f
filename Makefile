# s3mpu — see README.md.
#   make demo           upload with preflight against a local real server (no AWS account needed)
#   make test           every test: unit tests (-race), short fuzz runs, integration tests against
#                       the local server (started if needed, stopped again if this run started it)
#   make server-start   start the local versitygw test server (installs it on first use)
#   make server-stop    stop it and remove its data
#   make bench          benchmarks side by side with the peer clients, on lan and on a modelled wan
#   make bench-shards   one sharded upload against the number of workers, each behind its own link
#   make soak           long fault and kill runs

GO        ?= go
BIN       := $(CURDIR)/.bin
S3SERVER  := $(BIN)/s3server
TESTFLAGS ?= -race -count=1 -timeout 20m
# A count, not a duration: Go 1.26's fuzz coordinator can fail a duration-bounded run with
# "context deadline exceeded" at the deadline on a loaded machine (go.dev/issue/75804).
FUZZTIME  ?= 50000x
# PROGRESS runs a long step and says every 15 s of silence that it is still working.
PROGRESS  := scripts/progress.sh

export S3MPU_REQUIRE_SERVER ?= 1

.PHONY: test check vet unit fuzz integration server-start server-stop demo bench bench-shards soak build fmt

build:
	$(GO) build ./...
	cd integration && $(GO) build ./...

$(S3SERVER): $(wildcard integration/cmd/s3server/*.go) integration/go.mod
	@echo "building $(S3SERVER) (the first build compiles the AWS SDK)"
	@cd integration && ../$(PROGRESS) "building $(S3SERVER)" $(GO) build -o $(S3SERVER) ./cmd/s3server

server-start: $(S3SERVER)
	$(S3SERVER) start

server-stop: $(S3SERVER)
	$(S3SERVER) stop

# test starts the server only when none is running, and stops it afterwards only in that case.
test: $(S3SERVER)
	@started=0; \
	if ! $(S3SERVER) status >/dev/null 2>&1; then $(S3SERVER) start || exit 1; started=1; fi; \
	rc=0; $(MAKE) --no-print-directory check || rc=$$?; \
	if [ $$started = 1 ]; then $(S3SERVER) stop >/dev/null; fi; \
	exit $$rc

check: vet unit fuzz integration

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(PROGRESS) "vetting the root module" $(GO) vet ./...
	cd integration && ../$(PROGRESS) "vetting the integration module" $(GO) vet ./...
	cd integration/testdata/quickstart && $(GO) vet .

unit:
	$(PROGRESS) "running the unit tests" $(GO) test $(TESTFLAGS) ./...

# Short fuzz runs of every Fuzz* target (parsers, evaluators, state files); `go test -fuzz`
# takes one target of one package at a time.
FUZZ_DIRS := internal uploader preflight kmsperm examples
fuzz:
	@grep -rHoE '^func Fuzz[A-Za-z0-9_]+' --include='*_test.go' $(FUZZ_DIRS) | sort -u | \
	while IFS=: read -r file fn; do \
	  f=$${fn#func }; pkg=$$(dirname $$file); \
	  echo "fuzz $$f in ./$$pkg for $(FUZZTIME)"; \
	  $(PROGRESS) "building and fuzzing $$f" $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) ./$$pkg || exit 1; \
	done

integration:
	cd integration && ../$(PROGRESS) "running the integration tests" $(GO) test $(TESTFLAGS) ./...

demo:
	bash examples/demo.sh

# WITH_SERVER runs the command $(1) with the local server up: it starts the server when none is
# running, and stops it afterwards only in that case.
define WITH_SERVER
@started=0; \
if ! $(S3SERVER) status >/dev/null 2>&1; then $(S3SERVER) start || exit 1; started=1; fi; \
rc=0; $(1) || rc=$$?; \
if [ $$started = 1 ]; then $(S3SERVER) stop >/dev/null; fi; \
exit $$rc
endef

bench: $(S3SERVER)
	$(call WITH_SERVER,(cd integration && $(GO) run ./bench $(BENCHFLAGS)))

bench-shards: $(S3SERVER)
	$(call WITH_SERVER,(cd integration && $(GO) run ./bench shards $(BENCHFLAGS)))

soak:
	cd integration && S3MPU_SOAK=1 $(GO) test -count=1 -timeout 120m -run 'Soak|Fault|Kill' ./...

fmt:
	gofmt -w $$(git ls-files '*.go')
