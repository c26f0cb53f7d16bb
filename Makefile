# The two commands in the README. Both install what they need (scripts/setup.sh) first.
.PHONY: run test bench

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

# Benchmarks print figures; they are not tests and assert nothing about speed.
bench:
	bash scripts/bench.sh
