# SPDX-License-Identifier: GPL-2.0
#
# The composefs module, its userspace tools and its tests.
#
# Included by kbuild (KERNELRELEASE set): the module's build rules, for an
# in-tree build at fs/composefs/ or an out-of-tree build with M=.
# Otherwise: the project's entry points (see README.md).

ifneq ($(KERNELRELEASE),)

obj-$(if $(CONFIG_COMPOSEFS_FS),$(CONFIG_COMPOSEFS_FS),m) += composefs.o
composefs-y := src/composefs.o src/helpers.o

# Bindings for the headers that kernel::bindings leaves out, generated with
# the same bindgen flags the kernel used for its own bindings (read from the
# kernel's saved command) so that layouts agree. Types the kernel's bindings
# already have are not regenerated: the generated module imports them.
cfs_bindgen_cflags := $(shell sed -n '/^savedcmd_rust\/bindings\/bindings_generated.rs := /{ \
	s/.* -- //; s/;.*//; s/-Wp,-MMD,[^ ]*//; p; }' \
	$(objtree)/rust/bindings/.bindings_generated.rs.cmd)
# Those include paths are relative to the kernel's build directory.
cfs_bindgen_cflags := $(foreach f,$(cfs_bindgen_cflags),$(if $(filter -I/%,$(f)),$(f),$(if \
	$(filter -I%,$(f)),-I$(abspath $(objtree))/$(patsubst -I%,%,$(f)),$(f))))

quiet_cmd_cfs_bindgen = BINDGEN $@
      cmd_cfs_bindgen = \
	$(BINDGEN) $< $(shell grep -Ev '^\#|^$$' $(src)/src/bindings/bindgen_parameters) \
		--rust-target 1.85 --use-core --ctypes-prefix ffi --no-layout-tests \
		--no-debug '.*' --no-doc-comments --raw-line 'pub use kernel::bindings::*;' \
		-o $@ -- $(cfs_bindgen_cflags) -Wp$(comma)-MMD$(comma)$(depfile)

$(obj)/src/bindings_generated.rs: $(src)/src/bindings/bindings_helper.h \
		$(src)/src/bindings/bindgen_parameters FORCE
	$(call if_changed_dep,cfs_bindgen)
targets += src/bindings_generated.rs
# Where src/vfs/bindings.rs finds the generated file: rustc reads this
# variable from its environment at compile time.
export CFS_BINDINGS_RS := $(abspath $(obj)/src/bindings_generated.rs)
$(obj)/src/composefs.o: $(obj)/src/bindings_generated.rs

else

SHELL := /bin/bash
CARGO_TARGET := x86_64-unknown-linux-gnu
TOOLS := mkcomposefs composefs-info cfs-mutate cfs-diff

.PHONY: all module module-bench module-debian tools selftests kernel check demo bench profile fuzz stress clean difftest

all: module tools selftests

module:
	@scripts/build-module.sh debug

module-bench:
	@scripts/build-module.sh bench

# The module for Debian 13's stock kernel, built with Debian's own
# toolchain (rustc 1.85.1, the kernel's minimum) into build/debian/.
module-debian:
	@scripts/build-distro.sh debian >/dev/null

tools:
	cd tools && RUSTFLAGS='-C target-feature=+crt-static' \
		cargo build --release --locked --target $(CARGO_TARGET) $(addprefix --bin ,$(TOOLS))
	@mkdir -p build/bin
	@for t in $(TOOLS); do cp -f tools/target/$(CARGO_TARGET)/release/$$t build/bin/; done

SELFTEST_BINS := build/bin/cfs-mount build/bin/cfs-walk build/bin/cfs-verity build/bin/cfs-resident build/bin/cfs-handle build/bin/cfs-idmap build/bin/cfs-fileops build/bin/cfs-fanotify
SELFTEST_BINS += build/bin/cfs-bench build/bin/cfs-sound build/bin/cfs-op

selftests: $(SELFTEST_BINS)

build/bin/%: selftests/%.c
	@mkdir -p build/bin
	gcc -static -O2 -Wall -Wextra -Werror -o $@ $<

kernel:
	@scripts/build-kernel.sh debug >/dev/null
	@scripts/build-kernel.sh bench >/dev/null

# KERNEL=debian runs the guest selftests on Debian 13's stock kernel
# (scripts/check.sh), which needs its own build of the module, not the
# debug kernel's.
check: $(if $(filter debian,$(KERNEL)),tools selftests,all)
	@KERNEL=$(KERNEL) scripts/check.sh

demo: all
	@scripts/demo.sh

difftest: all
	@scripts/difftest.sh

# scripts/bench.sh builds the bench kernel, module, tools and helpers itself
# (and falls back to HEAD's module if the work tree's does not build).
bench:
	@scripts/bench.sh

# A profile of benchmark metrics on each side (scripts/profile.sh): perf
# sampling by default, the ftrace function profiler with PROFILE_TOOL=ftrace.
profile:
	@scripts/profile.sh

# Soak runs (issue 6): libFuzzer on the shared reader for FUZZ_SECONDS
# (default 600), then the guest corrupt-image test with CORRUPT_COUNT images
# (default 5000); stress: the fault and load tests for STRESS_SECONDS.
fuzz: all
	@rc=0; scripts/fuzz.sh || rc=$$?; scripts/soak.sh corrupt && exit $$rc

stress: all
	@scripts/soak.sh stress

clean:
	rm -rf build tools/target

endif
