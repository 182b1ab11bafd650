# wf: a toolkit of small commands that run YAML workflows.
# make            build bin/wf and the wf-* tools
# make check      install missing Debian packages, build, run every test
# make check-asan the same suite on an AddressSanitizer+UBSan build
# make demo       build and run an example workflow (installs only the build packages)
# make fresh      as root: the README's two commands in a new minimal Debian root
# make bench      benchmarks, as ratios against baselines run alongside
# make fuzz       libFuzzer over wf-step's, 'wf-run -'s and 'wf import -'s JSON input, each
#                 target FUZZ_SECONDS (60); needs clang and libFuzzer
# make install    PREFIX=/usr/local DESTDIR= (binaries, man, completion, examples)

PREFIX  ?= /usr/local
BINDIR   = $(PREFIX)/bin
DATADIR  = $(PREFIX)/share/wf
MANDIR   = $(PREFIX)/share/man
COMPDIR  = $(PREFIX)/share/bash-completion/completions

CC      ?= cc
CFLAGS  ?= -O2 -g
WFLAGS   = -std=c11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CPPFLAGS_WF = -D_GNU_SOURCE -Ilib -DWF_DATADIR='"$(DATADIR)"'
LDFLAGS ?=

# Build directories: the ASan build lives beside the normal one.
BIN ?= bin
OBJ ?= build/obj

# Every binary is linked with --as-needed against the libraries below, so
# each one records only the libraries its code really uses (wf: libc only;
# only wf-model and wf-pr pull in libcurl).
LIBS = -Wl,--as-needed -lyaml -ljq -lcurl -lm

LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:lib/%.c=$(OBJ)/lib/%.o)
CMD_SRC = $(wildcard cmd/*.c)
CMDS    = $(CMD_SRC:cmd/%.c=%)
BINS    = $(CMDS:%=$(BIN)/%)
FAKES_SRC = $(wildcard tests/fakes/*.c)
FAKES   = $(FAKES_SRC:tests/fakes/%.c=$(BIN)/%)
# Baselines the benchmarks measure against (tests/bench/NAME.c -> build/bench/NAME).
BENCH_SRC  = $(wildcard tests/bench/*.c)
BENCH_PROGS = $(BENCH_SRC:tests/bench/%.c=build/bench/%)

JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps deps-build deps-fuzz fresh fuzz check test check-asan test-asan demo bench install uninstall clean

all: $(BINS)

$(OBJ)/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_WF) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) -c -o $@ $<

$(OBJ)/cmd/%.o: cmd/%.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_WF) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) -c -o $@ $<

$(OBJ)/libwf.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $(LIB_OBJ)

# Each link writes a map (OBJ/PROGRAM.map) naming the archive members it
# pulled in; tests/0000-layers.bats reads it to check what each program links.
$(BIN)/%: $(OBJ)/cmd/%.o $(OBJ)/libwf.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,-Map=$(OBJ)/$*.map -o $@ $< $(OBJ)/libwf.a $(LIBS)

# Debian packages: what building and running a workflow needs, and on top
# of it what the tests, their fake servers and the sanitizer build call.
BUILD_PACKAGES = gcc make libc6-dev libyaml-dev libjq-dev libcurl4-openssl-dev mandoc
TEST_PACKAGES  = $(BUILD_PACKAGES) bats bats-assert bats-support parallel jq git tmux \
	python3 strace procps util-linux bsdutils coreutils findutils diffutils \
	groff-base time curl openssl ca-certificates binutils graphviz chromium fonts-dejavu-core

# install_missing PACKAGES: install the ones not yet installed.  As root it
# runs apt-get; otherwise through sudo (asking for a password when a person
# is at the terminal); otherwise it prints the exact command and fails.
define install_missing
	@missing=; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	echo "deps: missing:$$missing"; \
	if [ "$$(id -u)" = 0 ]; then sudo=; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then \
		echo "deps: not root: installing with sudo (it may ask for your password)"; sudo=sudo; \
	else \
		echo "deps: not root and cannot use sudo here; as root, run:" >&2; \
		echo "  apt-get update && apt-get install -y$$missing" >&2; \
		echo "then run this make command again" >&2; exit 1; \
	fi; \
	if [ -z "$$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then \
		$$sudo apt-get update -qq || exit 1; fi; \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing </dev/null || exit 1; \
	echo "deps: installed:$$missing"
endef

deps:
	$(call install_missing,$(TEST_PACKAGES))

deps-build:
	$(call install_missing,$(BUILD_PACKAGES))

# The tests find the programs through WF_BIN; fakes are built next to them.
test: all $(FAKES)
	WF_BIN=$(abspath $(BIN)) bats --jobs $(JOBS) tests/

check: deps
	$(MAKE) all
	$(MAKE) test

ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

check-asan: deps
	$(MAKE) BIN=build/asan/bin OBJ=build/asan/obj CFLAGS="$(ASAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" test-asan

test-asan: all $(FAKES)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86 \
	LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) \
	WF_BIN=$(abspath $(BIN)) bats --jobs $(JOBS) tests/

# The demo runs with --yes: its steps are plain shell commands you can read
# in workflows/examples/demo.yaml; without --yes wf would ask before each.
demo: deps-build
	$(MAKE) all
	cd $$(mktemp -d) && WF_STATE_DIR=$${WF_STATE_DIR:-$$PWD/state} $(abspath $(BIN))/wf run demo --yes
	@echo
	@echo "next: export PATH=\"$(abspath $(BIN)):\$$PATH\"   (or: make install PREFIX=\$$HOME/.local)"
	@echo "      wf list; wf show demo; mandoc -a $(abspath man)/wf.7"

# The README's first screen on a minimal Debian 12 made with debootstrap.
fresh:
	sh tests/fresh.sh

bench: all $(FAKES) $(BENCH_PROGS)
	WF_BIN=$(abspath $(BIN)) WF_BENCH_BIN=$(abspath build/bench) sh tests/bench.sh

build/bench/%: tests/bench/%.c
	@mkdir -p $(@D)
	$(CC) $(WFLAGS) -D_GNU_SOURCE -O2 -o $@ $< $(LIBS)

# The one bench program that measures wf's own code (conditions evaluated in one process).
build/bench/cond-evals: tests/bench/cond-evals.c $(OBJ)/libwf.a
	@mkdir -p $(@D)
	$(CC) $(WFLAGS) -D_GNU_SOURCE -Ilib -O2 -o $@ $< $(OBJ)/libwf.a $(LIBS)

# Fuzzing: each tests/fuzz/fuzz-NAME.c is a libFuzzer target over one JSON
# input, parsed and checked as the program does, stopping before anything
# runs.  The library is rebuilt with clang under ASan+UBSan in build/fuzz/;
# each target runs FUZZ_SECONDS from tests/fuzz/corpus/NAME (new inputs
# go to build/fuzz/corpus/NAME, findings to build/fuzz/crash-*), and a
# crash, a sanitizer report or a leak fails the target.  libFuzzer comes
# with Debian's clang, in libclang-rt-14-dev (libclang-rt-dev).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS   = -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_NAMES    = $(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c))

FUZZ_PACKAGES = $(BUILD_PACKAGES) clang libclang-rt-14-dev

deps-fuzz:
	$(call install_missing,$(FUZZ_PACKAGES))

fuzz: deps-fuzz
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { \
		echo "fuzz: '$(FUZZ_CC)' not found: install Debian's clang (apt-get install clang libclang-rt-dev), or set FUZZ_CC" >&2; exit 1; }
	@mkdir -p build/fuzz
	@printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' > build/fuzz/probe.c
	@$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o build/fuzz/probe build/fuzz/probe.c 2>/dev/null || { \
		echo "fuzz: '$(FUZZ_CC)' cannot link with -fsanitize=fuzzer: libFuzzer is missing (Debian: apt-get install libclang-rt-dev, or libclang-rt-14-dev)" >&2; exit 1; }
	$(MAKE) CC=$(FUZZ_CC) OBJ=build/fuzz/obj CFLAGS="$(FUZZ_CFLAGS)" build/fuzz/obj/libwf.a
	@for n in $(FUZZ_NAMES); do \
		echo "$(FUZZ_CC) ... -o build/fuzz/fuzz-$$n tests/fuzz/fuzz-$$n.c"; \
		$(FUZZ_CC) $(CPPFLAGS_WF) $(CPPFLAGS) $(WFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer \
			-o build/fuzz/fuzz-$$n tests/fuzz/fuzz-$$n.c build/fuzz/obj/libwf.a $(LIBS) || exit 1; \
	done
	@for n in $(FUZZ_NAMES); do \
		mkdir -p build/fuzz/corpus/$$n tests/fuzz/corpus/$$n; \
		echo "fuzz: fuzz-$$n for $(FUZZ_SECONDS)s"; \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		build/fuzz/fuzz-$$n -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
			-artifact_prefix=build/fuzz/crash-$$n- build/fuzz/corpus/$$n tests/fuzz/corpus/$$n \
			2> build/fuzz/fuzz-$$n.log || { tail -n 60 build/fuzz/fuzz-$$n.log >&2; \
			echo "fuzz: fuzz-$$n found a crash: build/fuzz/crash-$$n-*" >&2; exit 1; }; \
		grep -E '^stat::number_of_executed_units|^Done ' build/fuzz/fuzz-$$n.log; \
	done

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/workflows/examples \
		$(DESTDIR)$(DATADIR)/workflows/templates $(DESTDIR)$(COMPDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)
	install -m 0644 workflows/examples/*.yaml $(DESTDIR)$(DATADIR)/workflows/examples
	if ls workflows/templates/*.yaml >/dev/null 2>&1; then \
		install -m 0644 workflows/templates/*.yaml $(DESTDIR)$(DATADIR)/workflows/templates; fi
	if [ -f workflows/models/models.example.yaml ]; then \
		install -m 0644 workflows/models/models.example.yaml $(DESTDIR)$(DATADIR); fi
	for m in man/*.1; do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man1; done
	for m in man/*.5; do [ -e $$m ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man5; done; true
	for m in man/*.7; do [ -e $$m ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man7; done; true
	install -m 0644 completions/wf.bash $(DESTDIR)$(COMPDIR)/wf
	for c in $(CMDS); do [ $$c = wf ] || ln -sf wf $(DESTDIR)$(COMPDIR)/$$c; done

uninstall:
	for c in $(CMDS); do rm -f $(DESTDIR)$(BINDIR)/$$c $(DESTDIR)$(COMPDIR)/$$c; done
	rm -rf $(DESTDIR)$(DATADIR)
	rm -f $(DESTDIR)$(MANDIR)/man1/wf*.1 $(DESTDIR)$(MANDIR)/man5/wf*.5 $(DESTDIR)$(MANDIR)/man7/wf*.7

clean:
	rm -rf bin build
.SECONDARY:
