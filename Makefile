# The two commands in the README. Both install what they need (scripts/setup.sh) first.
.PHONY: run test check bench soak scale-test admin mutants backup restore

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

# Formatting and clippy (warnings denied) for the server and the browser client; make test runs it first.
check:
	bash scripts/setup.sh && bash scripts/check.sh

# Adds an admin to `make run`'s shop, or resets their password: make admin EMAIL=you@example.com
admin:
	bash scripts/admin.sh "$(EMAIL)"

# Benchmarks print figures; they are not tests and assert nothing about speed.
bench:
	bash scripts/bench.sh

# Shoppers against the release build while the shop, Postgres and the test Stripe server fail; figures only.
soak:
	bash scripts/soak.sh

# Three instances and a read replica under load, one instance killed: exactly-once checks.
scale-test:
	bash scripts/scale_test.sh

# Mutation testing of the shop's promises (hours; not part of CI): make mutants [ONLY="pricing orders"] [SINCE=commit]
mutants:
	MUTANT_GROUPS="$(ONLY)" SINCE="$(SINCE)" bash scripts/mutants.sh

# The database and the media folder of `make run`'s shop (or DATABASE_URL's), into or out of DIR.
backup:
	bash scripts/backup.sh backup "$(DIR)"

# Into an empty database; ARTWALL_RESTORE_REPLACE=yes replaces what is there.
restore:
	bash scripts/backup.sh restore "$(DIR)"
