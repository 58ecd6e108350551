# The two commands of the README. Both install what is missing first (scripts/setup.sh).
.PHONY: setup demo test build

setup:
	@bash scripts/setup.sh

build: setup
	swift build -c release --product quiver

demo: build
	swift run -c release quiver demo

test: setup
	swift test
