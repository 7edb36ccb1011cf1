# uniprof — plain GNU make.
#
#   make                    build build/uniprof
#   make DEVELOPER=1        warnings are errors
#   make SANITIZE=address,undefined test
#                           sanitizer flavour (built in build-san/)
#   make test               install dependencies, build, run every test
#   make demo               boot the demo guest under QEMU, profile it, write demo.folded
#   make check-headers      every header compiles on its own
#   make clang-check        build and run the unit tier with clang (in build-clang/)
#   make unit-valgrind      the unit tier under valgrind: leaks and bad accesses fail it
#   make fuzz-long          every fuzzer for FUZZ_SECONDS (600) each; prints the inputs run
#   make install            build/uniprof and its manual page under $(DESTDIR)$(PREFIX)
#                           (PREFIX=/usr/local); make uninstall removes them

CC ?= cc
PKG_CONFIG ?= pkg-config
BUILD ?= build$(if $(SANITIZE),-san)

PKGS := libelf libdw jansson expat zlib libbpf
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null || echo -ldw -lelf -ljansson -lexpat -lz -lbpf) -liberty
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

WARNINGS := -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
	-Wvla -Wpointer-arith -Wundef -Wcast-align -Wwrite-strings -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARNINGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS := $(LDFLAGS)
ifeq ($(DEVELOPER),1)
ALL_CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif

LIB_SRCS := \
	util/error.c util/sock.c util/profile.c util/durations.c \
	arch/arch.c arch/frame_records.c arch/x86_64/regs.c arch/x86_64/frames.c arch/x86_64/pgtable.c \
	arch/arm64/regs.c arch/arm64/frames.c arch/arm64/pgtable.c \
	memory/memory.c memory/process.c \
	unwind/cfi.c unwind/cfi_eval.c unwind/fp.c unwind/walk.c unwind/registry.c \
	unwind/orc.c unwind/orc_table.c \
	backends/registry.c backends/kvm/rsp.c backends/kvm/gdbstub.c backends/kvm/qmp.c backends/kvm/qmp_replies.c \
	backends/kvm/target_xml.c backends/kvm/ram_layout.c backends/kvm/qemu_ram.c backends/kvm/qemu_process.c backends/kvm/kvm.c \
	symbolize/symtab.c symbolize/code.c symbolize/symfile.c symbolize/elf_symbols.c \
	symbolize/map_symbols.c symbolize/pe.c symbolize/dwarf.c symbolize/demangle.c \
	symbolize/slide.c symbolize/guest_code.c symbolize/elf_image.c symbolize/symbolize.c symbolize/symprofile.c \
	writers/registry.c writers/protobuf.c writers/pprof.c flamegraph/folded.c \
	flamegraph/tree.c flamegraph/svg.c writers/backtrace.c \
	record/raw_write.c record/raw_read.c record/raw_slides.c \
	linux/btf_layout.c linux/dwarf_layout.c linux/current.c linux/modules.c
CLI_SRCS := uniprof/main.c uniprof/options.c uniprof/sampler.c uniprof/slides.c uniprof/guard.c uniprof/output.c \
	uniprof/dump.c uniprof/tasks.c uniprof/orc_load.c uniprof/modules_load.c

# ---- Xen backend (uniprof -d) -------------------------------------------------------------
# Built when libxen-dev's libraries are there (pkg-config knows them); otherwise left out, and
# -d says the build lacks Xen support.  HAVE_LIBXENCTRL is seen by backends/registry.c only,
# through $(BUILD)/config.h (below).
# The mapping cache knows nothing of Xen and is always built (its unit test runs everywhere).
XEN_PKGS := xencontrol xenforeignmemory xenstore xencall
HAVE_XEN := $(shell $(PKG_CONFIG) --exists $(XEN_PKGS) 2>/dev/null && echo 1)
LIB_SRCS += backends/xen/mapcache.c
ifeq ($(HAVE_XEN),1)
# Registers come from the host's own kind of vCPU context: x86_64 or arm64 (Xen on Arm).
XEN_HOST_ARCH := $(firstword $(subst -, ,$(shell $(CC) -dumpmachine)))
XEN_VCPU_SRC := $(or $(filter backends/xen/vcpu_$(XEN_HOST_ARCH:aarch64=arm64).c,$(wildcard backends/xen/vcpu_*.c)),backends/xen/vcpu_none.c)
LIB_SRCS += backends/xen/xen.c backends/xen/domain.c backends/xen/vcpu.c $(XEN_VCPU_SRC) \
	backends/xen/regs.c backends/xen/hcall_buffers.c
# The register decoders' unit test runs where they are built.
$(BUILD)/tests/test_xen_regs: ALL_CFLAGS += -DUP_TEST_XEN_REGS$(if $(filter x86_64,$(XEN_HOST_ARCH)), -DUP_TEST_XEN_HVM)
ALL_CFLAGS += $(shell $(PKG_CONFIG) --cflags $(XEN_PKGS))
PKG_LIBS += $(shell $(PKG_CONFIG) --libs $(XEN_PKGS))
# An instrumented build that times the stages of each sample (-vv prints them).  Clock reads
# can be system calls in a PV dom0 (20-65 us each under nested TCG): the default build has none.
ifeq ($(XEN_TIMING),1)
$(BUILD)/obj/backends/xen/xen.o: ALL_CFLAGS += -DUP_XEN_TIMING
endif
endif
# ---- end of the Xen backend ---------------------------------------------------------------

# ---- libvirt (uniprof --libvirt) -----------------------------------------------------------
# Built with libvirt-dev's client libraries when pkg-config knows them; otherwise
# backends/libvirt_none.c makes --libvirt say the build lacks it.
HAVE_LIBVIRT := $(shell $(PKG_CONFIG) --exists libvirt libvirt-qemu 2>/dev/null && echo 1)
ifeq ($(HAVE_LIBVIRT),1)
LIB_SRCS += backends/libvirt.c
ALL_CFLAGS += $(shell $(PKG_CONFIG) --cflags libvirt libvirt-qemu)
PKG_LIBS += $(shell $(PKG_CONFIG) --libs libvirt libvirt-qemu)
else
LIB_SRCS += backends/libvirt_none.c
endif

# $(BUILD)/config.h says which optional parts this build has; rewritten only when that
# changes, so installing or removing libxen-dev or libvirt-dev after a build rebuilds what
# depends on it (a -D flag or a changed source list is no tracked dependency).
CONFIG_H := $(BUILD)/config.h
$(CONFIG_H): FORCE
	@mkdir -p $(@D)
	@printf '/* Generated by make: the optional parts this build has. */\n%s\n%s\n' \
		'$(if $(filter 1,$(HAVE_XEN)),#define HAVE_LIBXENCTRL 1,/* no libxen-dev: no Xen backend */)' \
		'$(if $(filter 1,$(HAVE_LIBVIRT)),#define HAVE_LIBVIRT 1,/* no libvirt-dev: no --libvirt */)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
$(BUILD)/obj/backends/registry.o: $(CONFIG_H)
$(BUILD)/obj/backends/registry.o: ALL_CFLAGS += -I$(BUILD)
$(BUILD)/tests/test_libvirt: $(CONFIG_H)
$(BUILD)/tests/test_libvirt: ALL_CFLAGS += -I$(BUILD)
FORCE:
# ---- end of the optional parts -------------------------------------------------------------
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libuniprof.a
UNIT_BINS := $(UNIT_TESTS:%=$(BUILD)/tests/%)
GUEST_X86_64 := $(BUILD)/guests/x86_64/guest.elf
GUEST_ARM64 := $(BUILD)/guests/arm64/guest.elf
# The same two guests built without frame pointers, with .eh_frame instead.
GUEST_X86_64_NOFP := $(BUILD)/guests/x86_64-nofp/guest.elf
GUEST_ARM64_NOFP := $(BUILD)/guests/arm64-nofp/guest.elf
# The x86_64 guest's hostile flavour: frame-pointer loops, MMIO, unmapped and past-RAM pointers.
GUEST_X86_64_HOSTILE := $(BUILD)/guests/x86_64-hostile/guest.elf
GUEST_ARM64_HOSTILE := $(BUILD)/guests/arm64-hostile/guest.elf
GUEST_EFI_X86_64 := $(BUILD)/guests/efi-x86_64/guest.elf
GUEST_EFI_ARM64 := $(BUILD)/guests/efi-arm64/guest.elf

# libFuzzer harnesses (fuzz/), built with clang whenever it is there and run briefly by make test.
FUZZ_CC ?= clang
HAVE_FUZZ_CC := $(shell command -v $(FUZZ_CC) 2>/dev/null)
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(PKG_CFLAGS)
FUZZ_RUNS ?= 20000
FUZZ_MAX_LEN ?= 4096
FUZZERS := fuzz_rsp fuzz_walk fuzz_symfile fuzz_target_xml fuzz_pgtable fuzz_ram_layout fuzz_raw fuzz_svg \
	fuzz_unwind fuzz_qmp fuzz_btf fuzz_orc fuzz_modules
fuzz_rsp_SRCS := backends/kvm/rsp.c
fuzz_qmp_SRCS := backends/kvm/qmp.c backends/kvm/qmp_replies.c backends/libvirt_none.c util/sock.c util/error.c
fuzz_target_xml_SRCS := backends/kvm/target_xml.c util/error.c
fuzz_walk_SRCS := arch/frame_records.c arch/x86_64/frames.c arch/x86_64/regs.c arch/x86_64/pgtable.c arch/arm64/frames.c arch/arm64/regs.c arch/arm64/pgtable.c arch/arch.c util/error.c
fuzz_symfile_SRCS := symbolize/symfile.c symbolize/elf_symbols.c symbolize/map_symbols.c \
	symbolize/pe.c symbolize/dwarf.c symbolize/symtab.c symbolize/code.c util/error.c
fuzz_unwind_SRCS := unwind/cfi_eval.c unwind/walk.c unwind/fp.c unwind/registry.c \
	unwind/orc.c unwind/orc_table.c \
	arch/frame_records.c arch/x86_64/frames.c arch/x86_64/regs.c arch/x86_64/pgtable.c \
	arch/arm64/frames.c arch/arm64/regs.c arch/arm64/pgtable.c arch/arch.c util/error.c
fuzz_orc_SRCS := $(fuzz_unwind_SRCS)
fuzz_modules_SRCS := linux/modules.c symbolize/symtab.c unwind/orc_table.c util/error.c
fuzz_modules_MAX_LEN := 16384
# Registers and four rows come first: the stack page after them.
fuzz_unwind_MAX_LEN := 6144
fuzz_pgtable_SRCS := arch/x86_64/pgtable.c arch/x86_64/frames.c arch/x86_64/regs.c arch/frame_records.c arch/arch.c arch/arm64/pgtable.c arch/arm64/frames.c arch/arm64/regs.c util/error.c
fuzz_ram_layout_SRCS := backends/kvm/ram_layout.c memory/process.c util/error.c
fuzz_raw_SRCS := record/raw_read.c record/raw_write.c util/profile.c util/error.c
fuzz_svg_SRCS := flamegraph/svg.c flamegraph/tree.c util/error.c
fuzz_btf_SRCS := linux/btf_layout.c linux/current.c symbolize/symfile.c symbolize/elf_symbols.c \
	symbolize/map_symbols.c symbolize/pe.c symbolize/dwarf.c symbolize/symtab.c symbolize/code.c \
	util/profile.c arch/x86_64/regs.c arch/x86_64/frames.c arch/x86_64/pgtable.c arch/frame_records.c \
	arch/arm64/regs.c arch/arm64/frames.c arch/arm64/pgtable.c arch/arch.c util/error.c
# A whole "info mtree -f" of an x86_64 machine is 4-8 KiB: its system view can come last.
fuzz_ram_layout_MAX_LEN := 8192
FUZZ_BINS := $(if $(HAVE_FUZZ_CC),$(FUZZERS:%=$(BUILD)/fuzz/%))

.PHONY: all deps test unit integration demo guests fuzz fuzz-run fuzz-long bench check-headers clang-check unit-valgrind cross-arm64 clean \
	install uninstall
.DELETE_ON_ERROR:

all: $(BUILD)/uniprof $(FUZZ_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS) $(CONFIG_H)
	@rm -f $@
	$(AR) rcs $@ $(LIB_OBJS)

$(BUILD)/uniprof: $(CLI_OBJS) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -no-pie -o $@ $< $(filter %.o,$^) $(LIB) $(PKG_LIBS) $(CMOCKA_LIBS) -lm

# The sampling loop and the dump's pause are the CLI's, not the library's.
$(BUILD)/tests/test_sampler: $(BUILD)/obj/uniprof/sampler.o
$(BUILD)/tests/test_dump: $(BUILD)/obj/uniprof/dump.o

.SECONDEXPANSION:
$(BUILD)/fuzz/%: fuzz/%.c $$($$*_SRCS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(PKG_LIBS)

fuzz: $(FUZZ_BINS)

# Seeds: a tiny relocatable ELF for the symbol loader; QEMU's real monitor outputs and maps
# (tests/unit/data/ram_layout) for its memory-map parsers; what real QEMUs sent a QMP client
# (tests/unit/data/qmp) for the QMP client; the checked-in recordings (tests/unit/data/raw) for
# the raw reader; the captured, reduced BTF (tests/unit/data/tasks) for the task_struct offset
# lookup; the other fuzzers start from nothing.
$(BUILD)/fuzz/corpus/fuzz_symfile/seed.o:
	@mkdir -p $(@D)
	printf 'int f(int x) { return x + 1; }\nint g(void) { return f(2); }\n' | \
		$(CC) -c -x c -o $@ -

RAM_LAYOUT_SEEDS := $(patsubst tests/unit/data/ram_layout/%,$(BUILD)/fuzz/corpus/fuzz_ram_layout/%, \
	$(wildcard tests/unit/data/ram_layout/*.mtree tests/unit/data/ram_layout/*.gpa2hva-* \
		tests/unit/data/ram_layout/*.maps))
$(BUILD)/fuzz/corpus/fuzz_ram_layout/%: tests/unit/data/ram_layout/%
	@mkdir -p $(@D)
	cp $< $@

RAW_SEEDS := $(patsubst tests/unit/data/raw/%,$(BUILD)/fuzz/corpus/fuzz_raw/%, \
	$(wildcard tests/unit/data/raw/*.uniprof))
$(BUILD)/fuzz/corpus/fuzz_raw/%: tests/unit/data/raw/%
	@mkdir -p $(@D)
	cp $< $@

QMP_SEEDS := $(patsubst tests/unit/data/qmp/%,$(BUILD)/fuzz/corpus/fuzz_qmp/%, \
	$(wildcard tests/unit/data/qmp/*.qmp))
$(BUILD)/fuzz/corpus/fuzz_qmp/%: tests/unit/data/qmp/%
	@mkdir -p $(@D)
	cp $< $@

BTF_SEEDS := $(patsubst tests/unit/data/tasks/%,$(BUILD)/fuzz/corpus/fuzz_btf/%, \
	$(wildcard tests/unit/data/tasks/*.btf))
$(BUILD)/fuzz/corpus/fuzz_btf/%: tests/unit/data/tasks/%
	@mkdir -p $(@D)
	cp $< $@

$(BUILD)/fuzz/corpus/fuzz_unwind/seed: fuzz/unwind_seed.py
	@mkdir -p $(@D)
	python3 fuzz/unwind_seed.py > $@

$(BUILD)/fuzz/corpus/fuzz_orc/seed: fuzz/orc_seed.py
	@mkdir -p $(@D)
	python3 fuzz/orc_seed.py > $@

$(BUILD)/fuzz/corpus/fuzz_modules/seed: fuzz/modules_seed.py
	@mkdir -p $(@D)
	python3 fuzz/modules_seed.py > $@

FUZZ_SEEDS := $(BUILD)/fuzz/corpus/fuzz_symfile/seed.o $(RAM_LAYOUT_SEEDS) $(RAW_SEEDS) $(QMP_SEEDS) $(BTF_SEEDS) \
	$(BUILD)/fuzz/corpus/fuzz_unwind/seed $(BUILD)/fuzz/corpus/fuzz_orc/seed \
	$(BUILD)/fuzz/corpus/fuzz_modules/seed

FUZZ_SPECS = $(foreach f,$(FUZZERS),$(f):$(or $($(f)_MAX_LEN),$(FUZZ_MAX_LEN)))

# make test's short run: FUZZ_RUNS inputs per harness.
fuzz-run: $(FUZZ_BINS) $(FUZZ_SEEDS)
	fuzz/run.sh $(BUILD) runs $(FUZZ_RUNS) $(FUZZ_SPECS)

# A long run: FUZZ_SECONDS per harness (make -k -j2 fuzz-long runs two at once); the
# corpora grow in $(BUILD)/fuzz/corpus and serve the next runs.
FUZZ_SECONDS ?= 600
fuzz-long: $(addprefix fuzz-long-,$(FUZZERS))
fuzz-long-%: $(BUILD)/fuzz/% $(FUZZ_SEEDS)
	fuzz/run.sh $(BUILD) seconds $(FUZZ_SECONDS) $*:$(or $($*_MAX_LEN),$(FUZZ_MAX_LEN))

guests: $(GUEST_X86_64) $(GUEST_ARM64) $(GUEST_EFI_X86_64) $(GUEST_EFI_ARM64) \
	$(GUEST_X86_64_NOFP) $(GUEST_ARM64_NOFP) $(GUEST_X86_64_HOSTILE) $(GUEST_ARM64_HOSTILE)

$(GUEST_EFI_X86_64): $(wildcard tests/guests/efi-x86_64/* tests/guests/efi-common/*)
	$(MAKE) -C tests/guests/efi-x86_64 O=$(abspath $(@D))

$(GUEST_EFI_ARM64): $(wildcard tests/guests/efi-arm64/* tests/guests/efi-common/*)
	$(MAKE) -C tests/guests/efi-arm64 O=$(abspath $(@D))

$(GUEST_X86_64): $(wildcard tests/guests/x86_64/*)
	$(MAKE) -C tests/guests/x86_64 O=$(abspath $(@D))

$(GUEST_ARM64): $(wildcard tests/guests/arm64/*)
	$(MAKE) -C tests/guests/arm64 O=$(abspath $(@D))

$(GUEST_X86_64_NOFP): $(wildcard tests/guests/x86_64/*)
	$(MAKE) -C tests/guests/x86_64 O=$(abspath $(@D)) NOFP=1

$(GUEST_ARM64_NOFP): $(wildcard tests/guests/arm64/*)
	$(MAKE) -C tests/guests/arm64 O=$(abspath $(@D)) NOFP=1

$(GUEST_X86_64_HOSTILE): $(wildcard tests/guests/x86_64/* tests/guests/hostile-common/*)
	$(MAKE) -C tests/guests/x86_64 O=$(abspath $(@D)) HOSTILE=1

$(GUEST_ARM64_HOSTILE): $(wildcard tests/guests/arm64/* tests/guests/hostile-common/*)
	$(MAKE) -C tests/guests/arm64 O=$(abspath $(@D)) HOSTILE=1

deps:
	scripts/install-deps.sh

# Benchmarks (bench/): numbers only, never assertions.
$(BUILD)/bench/many_functions: bench/gen_many_functions.py
	@mkdir -p $(@D)
	python3 bench/gen_many_functions.py 50000 > $(BUILD)/bench/many_functions.c
	$(CC) -O1 -g -o $@ $(BUILD)/bench/many_functions.c

$(BUILD)/bench/symbolize_throughput: bench/symbolize_throughput.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lm

$(BUILD)/bench/svg_size: bench/svg_size.c $(LIB)
$(BUILD)/bench/unwind_walk: bench/unwind_walk.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lm

$(BUILD)/bench/gdbstub_floor: bench/gdbstub_floor.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

bench: all guests unit $(BUILD)/bench/symbolize_throughput $(BUILD)/bench/many_functions \
		$(BUILD)/bench/gdbstub_floor $(BUILD)/bench/svg_size $(BUILD)/bench/unwind_walk
	$(BUILD)/bench/symbolize_throughput $(BUILD)/bench/many_functions
	$(BUILD)/bench/svg_size
	$(BUILD)/bench/unwind_walk $(BUILD)
	BUILD=$(BUILD) python3 bench/kvm_sample_cost.py
	BUILD=$(BUILD) python3 bench/kvm_sigkill.py
	BUILD=$(BUILD) python3 bench/unwind_cost.py
	BUILD=$(BUILD) python3 bench/tasks_cost.py
	BUILD=$(BUILD) python3 bench/libvirt_pause.py

# Test data, built with GCC whatever CC is: the tests expect what GCC makes of these programs
# (which calls it inlines, how it lays out frames).
DATA_CC ?= gcc
# A program whose DWARF describes nested inlining (for test_symfiles, test_pprof).
$(BUILD)/tests/data/inline_example: tests/unit/data/inline_example.c
	@mkdir -p $(@D)
	$(DATA_CC) -g -O2 -o $@ $<

# A program without frame pointers and a snapshot of its own stack (for test_cfi_elf), and the
# same kind of code for arm64, not run: its unwind tables only.
NOFP_CFLAGS := -O2 -g -fomit-frame-pointer -fasynchronous-unwind-tables -mno-red-zone -fcf-protection=none
$(BUILD)/tests/data/nofp_example: tests/unit/data/nofp_example.c
	@mkdir -p $(@D)
	$(DATA_CC) $(NOFP_CFLAGS) -static -o $@ $<

$(BUILD)/tests/data/nofp_example.snap: $(BUILD)/tests/data/nofp_example
	$< > $@

$(BUILD)/tests/data/nofp_example_signal.snap: $(BUILD)/tests/data/nofp_example
	$< signal > $@

$(BUILD)/tests/data/nofp_arm64.elf: tests/unit/data/nofp_arm64.c
	@mkdir -p $(@D)
	aarch64-linux-gnu-gcc -O2 -fomit-frame-pointer -fasynchronous-unwind-tables -ffreestanding \
		-fno-pic -nostdlib -static -Wl,-e,outer -Wl,--build-id=none -o $@ $<

# The DWARF of a kernel's task_struct shapes (test_tasks.c): 6.1's, and 6.2's with pcpu_hot.
$(BUILD)/tests/data/task_dwarf.so: tests/unit/data/task_dwarf.c tests/unit/data/task_dwarf.h
	@mkdir -p $(@D)
	$(DATA_CC) -g -O0 -shared -nostdlib -o $@ $<

$(BUILD)/tests/data/task_dwarf_hot.so: tests/unit/data/task_dwarf.c tests/unit/data/task_dwarf.h
	@mkdir -p $(@D)
	$(DATA_CC) -g -O0 -shared -nostdlib -DWITH_PCPU_HOT -o $@ $<

unit: $(UNIT_BINS) $(BUILD)/tests/data/task_dwarf.so $(BUILD)/tests/data/task_dwarf_hot.so \
	$(BUILD)/tests/data/inline_example $(BUILD)/tests/data/nofp_example.snap \
	$(BUILD)/tests/data/nofp_example_signal.snap \
	$(BUILD)/tests/data/nofp_arm64.elf

# The sanitizer pass leaves out what does not run the uniprof it built (tests/integration/run.py).
SANITIZER_LEAVE_OUT := test_xen_arm64,test_linux_perf

test: deps
	$(MAKE) all unit guests fuzz-run cross-arm64 check-headers
	BUILD=$(BUILD) $(if $(SANITIZE),INTEGRATION_LEAVE_OUT=$(SANITIZER_LEAVE_OUT)) tests/run.sh

demo: deps
	$(MAKE) all guests
	BUILD=$(BUILD) scripts/demo.sh

# uniprof for an arm64 host (the dom0 of Xen on Arm, as in the nested arm64 Xen test), cross-built
# against Debian's arm64 libraries fetched into a sysroot by scripts/arm64-sysroot.sh.
ARM64_BUILD := $(BUILD)/arm64
cross-arm64:
	root=$$(scripts/arm64-sysroot.sh) && $(MAKE) BUILD=$(ARM64_BUILD) SANITIZE= \
		CC="aarch64-linux-gnu-gcc --sysroot=$$root" PKG_CONFIG=$(CURDIR)/scripts/arm64-pkg-config \
		UNIPROF_ARM64_SYSROOT=$$root $(ARM64_BUILD)/uniprof

# CI's second compiler: uniprof and the unit tier built with clang, in build-clang (the fuzzers
# are clang's already).
CLANG_BUILD := build-clang
clang-check:
	$(MAKE) CC=clang BUILD=$(CLANG_BUILD) SANITIZE= $(CLANG_BUILD)/uniprof unit
	BUILD=$(CLANG_BUILD) tests/run.sh unit

# The unit tier under valgrind: a leak, an invalid access or an uninitialised read fails it.
VALGRIND := valgrind -q --leak-check=full --error-exitcode=1
unit-valgrind: unit
	UNIT_WRAPPER="$(VALGRIND)" BUILD=$(BUILD) tests/run.sh unit

check-headers:
	@for h in $$(git ls-files '*.h' | grep -v '^tests/guests/'); do \
		echo "#include \"$$h\"" | $(CC) $(ALL_CFLAGS) -fsyntax-only -x c - -I. || exit 1; \
	done; echo "all headers compile on their own"

# Installation, with the usual PREFIX and DESTDIR (a staging root for packagers).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MAN1DIR ?= $(PREFIX)/share/man/man1

install: $(BUILD)/uniprof
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MAN1DIR)
	install -m 755 $(BUILD)/uniprof $(DESTDIR)$(BINDIR)/uniprof
	install -m 644 doc/uniprof.1 $(DESTDIR)$(MAN1DIR)/uniprof.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/uniprof $(DESTDIR)$(MAN1DIR)/uniprof.1

clean:
	rm -rf build build-san $(CLANG_BUILD)

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d)
