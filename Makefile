# tenant_iso: PGXS build plus the two README commands (make demo, make test).
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
ifneq ($(PGXS),)
include $(PGXS)
endif

sql/$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard sql/install/*.sql))
	cat $^ > $@

.PHONY: demo test bench test-asan

# Installs missing packages, builds, installs, runs the walk-through on a throwaway cluster.
demo:
	bash test/demo.sh

# Same set-up, then the whole suite (pgTAP, isolation specs, pooler and crash tests).
test:
	bash test/run.sh

# The performance benchmark (BENCH_SCALE=smoke by default, BENCH_SCALE=full for the issue's data set).
bench:
	bash test/bench/run.sh

# The whole suite with the module built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan:
	bash test/asan.sh
