# Conveniences around the two commands the README documents.
.PHONY: run test generate build

run:
	CGO_ENABLED=0 go run ./cmd/berth

test:
	go run ./cmd/testenv

generate:
	go tool templ generate

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o berth ./cmd/berth
