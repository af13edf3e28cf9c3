# The README's two commands: `go run ./cmd/switchyard serve --demo` and
# `make test`.

.PHONY: test check-tree services fuzz bench build install lint

# Refuses binaries and databases in the tree, makes PostgreSQL and Redis
# ready, then runs every test with the race detector.
test: check-tree services
	go vet ./...
	go test -race -count=1 ./...

# Fails on tracked or staged binaries, databases and oversized files.
check-tree:
	./scripts/check-tree.sh

# Starts PostgreSQL and Redis if needed, and creates the test database.
services:
	./scripts/services.sh

# bin/switchyard, for running it often without go run's compile.
build:
	CGO_ENABLED=0 go build -o bin/switchyard ./cmd/switchyard

# switchyard in $(go env GOPATH)/bin.
install:
	CGO_ENABLED=0 go install ./cmd/switchyard

# Runs each fuzz target for a short while.
fuzz:
	./scripts/fuzz.sh 30s

# Runs the load benchmark: direct calls against calls through the gateway,
# and rewrites BENCHMARKS.md.
bench:
	go run ./bench -o BENCHMARKS.md

# staticcheck, pinned; not part of `make test` so that the tests never
# depend on fetching a linter.
lint:
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
