# tenant_iso: PGXS build plus the harness targets (make demo, make test, make test-all, ...).
EXTENSION    = tenant_iso
EXTVERSION   = $(shell grep default_version $(EXTENSION).control | sed -e "s/default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/")
MODULE_big   = tenant_iso
OBJS         = $(patsubst %.c,%.o,$(wildcard src/*.c))
# The install script of the version under development is built from the pieces in
# sql/install/ (one concern per file, concatenated in name order). Released versions'
# scripts (sql/tenant_iso--0.1.0.sql) and upgrade scripts (sql/tenant_iso--A--B.sql) are
# committed whole and never edited once released.
DATA_built   = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA         = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))
PG_CPPFLAGS  = -I$(srcdir)/src
PG_CFLAGS    = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare

PG_CONFIG   ?= pg_config
PGXS        := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

# The server version the harness targets test against: make test PG=16. 15 (the default) is
# Debian's packages; others are built once by test/pg/build.sh from ../shared/src and cached.
PG          ?= $(or $(TI_PG),15)
# The harness targets build the extension themselves, privately, for the server they test
# (test/cluster.sh): the checks below are for building here (make, make install).
HARNESS_GOALS = demo test test-all test-citus bench test-ubsan-valgrind fuzz
ifneq ($(filter-out $(HARNESS_GOALS),$(or $(MAKECMDGOALS),all)),)
ifeq ($(PGXS),)
$(error pg_config not found ($(PG_CONFIG)): install postgresql-server-dev-15 or run make PG_CONFIG=/path/to/pg_config)
endif
PG_VERSION_FOUND := $(shell $(PG_CONFIG) --version)
PG_MAJOR         := $(shell $(PG_CONFIG) --version | sed -e 's/^PostgreSQL \([0-9]*\).*/\1/')
ifneq ($(shell test "$(PG_MAJOR)" -ge 15 2>/dev/null && echo ok),ok)
$(error tenant_iso does not support $(PG_VERSION_FOUND) (found by $(PG_CONFIG)): it supports PostgreSQL 15, 16, 17 and 18)
endif
endif

# make installcheck is ours (test/installcheck.sh), not PGXS's pg_regress one.
NO_INSTALLCHECK = 1
ifneq ($(PGXS),)
include $(PGXS)
endif

# Every file includes both headers: a change to either rebuilds everything.
$(OBJS): src/tenant_iso.h src/compat.h

sql/$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard sql/install/*.sql))
	cat $^ > $@

.PHONY: $(HARNESS_GOALS) installcheck

# The suite against a server you already run, with tenant_iso installed and preloaded (the
# packagers' path): no apt-get, no sudo, no server started (test/installcheck.sh says what runs).
installcheck:
	PG_CONFIG=$(PG_CONFIG) bash test/installcheck.sh

# Installs missing packages, builds into a private copy of the server, runs the walk-through
# on a throwaway cluster.
demo:
	TI_PG=$(PG) bash test/demo.sh

# Same set-up, then the whole suite (pgTAP, isolation specs, pooler and crash tests).
test:
	TI_PG=$(PG) bash test/run.sh

# The whole suite against PostgreSQL 15, 16 and 18 in sequence (16 and 18 built once, cached),
# with a summary table; what CI runs (.ci/run).
test-all:
	bash test/pg/test_all.sh

# Citus 13.2 on PostgreSQL 15: Citus 13.2.2 built once into a cache outside the checkout, a
# coordinator and two workers on 127.0.0.1, the TAP suite test/citus/t (docs/citus.md).
test-citus:
	bash test/citus/run.sh

# The performance benchmark (BENCH_SCALE=smoke by default, BENCH_SCALE=full for the issue's data set).
bench:
	TI_PG=$(PG) bash test/bench/run.sh

# The whole suite with the module built with UndefinedBehaviorSanitizer and every server
# process under valgrind memcheck (AddressSanitizer cannot run the Debian server: docs/reliability.md).
test-ubsan-valgrind:
	TI_PG=$(PG) bash test/ubsan_valgrind.sh

# The fuzzer (test/t/fuzz.sh) for TI_FUZZ_SECONDS (default 900) on a throwaway cluster.
fuzz:
	TI_PG=$(PG) TESTS=test/t/fuzz.sh TI_FUZZ_SECONDS=$${TI_FUZZ_SECONDS:-900} bash test/run.sh
