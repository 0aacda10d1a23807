# Developer shortcuts; each calls the same scripts the README and CI use.
.PHONY: setup run test bench lint

setup:
	bash tools/setup.sh --test

run:
	bash tools/start.sh

test:
	bash tools/test.sh

bench:
	bash tools/bench.sh

lint:
	bash tools/lint.sh
