# The README's two commands: `go run ./cmd/switchyard serve` and `make test`.

.PHONY: test fuzz bench build lint

# Starts PostgreSQL and Redis if needed, then runs every test with the race
# detector.
test:
	./scripts/services.sh
	go vet ./...
	go test -race -count=1 ./...

build:
	CGO_ENABLED=0 go build -o bin/switchyard ./cmd/switchyard

# Runs each fuzz target for a short while.
fuzz:
	./scripts/fuzz.sh 30s

# Runs the load benchmark: direct calls against calls through the gateway.
bench:
	go run ./bench

# staticcheck, pinned; not part of `make test` so that the tests never
# depend on fetching a linter.
lint:
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
