# tenant_iso: PGXS build plus the two README commands (make demo, make test).
EXTENSION    = tenant_iso
EXTVERSION   = $(shell grep default_version $(EXTENSION).control | sed -e "s/default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/")
MODULE_big   = tenant_iso
OBJS         = $(patsubst %.c,%.o,$(wildcard src/*.c))
DATA         = $(wildcard sql/$(EXTENSION)--*.sql)
PG_CPPFLAGS  = -I$(srcdir)/src
PG_CFLAGS    = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare

PG_CONFIG   ?= pg_config
PGXS        := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

.PHONY: demo test bench test-asan

# Installs missing packages, builds, installs, runs the walk-through on a throwaway cluster.
demo:
	bash test/demo.sh

# Same set-up, then the whole suite (pgTAP, isolation specs, pooler and crash tests).
test:
	bash test/run.sh
