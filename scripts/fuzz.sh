#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fuzz the shared image reader (src/format) with libFuzzer through cargo-fuzz.
# Targets (tools/fuzz/fuzz_targets), each run for FUZZ_SECONDS (default 600)
# at nice 19 in one process:
#   walk     the input is an image; open it and walk it as the kernel does
#   mutants  the input picks a seed image and cfs-mutate's targeted mutations
# FUZZ_TARGETS selects (default both). Afterwards the inputs that add coverage
# are merged into the committed corpus (tools/fuzz/corpus/TARGET) and every
# crash, timeout or OOM input is copied to tools/fuzz/crashes/TARGET; both are
# replayed by `cargo test -p cfs-mutate`. Exit status non-zero if libFuzzer
# found a problem.
. "$(dirname "$0")/common.sh"

secs=${FUZZ_SECONDS:-600}
targets=${FUZZ_TARGETS:-walk mutants}
cf=$("$PROJECT_ROOT/scripts/install-cargo-fuzz.sh")
export PATH=$cf:$PATH
# libfuzzer-sys and -Zsanitizer need nightly flags: stable rustc with
# RUSTC_BOOTSTRAP=1, as the kernel build does.
export RUSTC_BOOTSTRAP=1 CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
cd "$PROJECT_ROOT/tools"
# The reader is safe Rust: no sanitizer needed; debug assertions and
# overflow checks on (-a and the fuzz crate's release profile).
flags=(-a -s none)
status=0
for t in $targets; do
	case $t in
	walk) maxlen=65536 ;;
	*) maxlen=64 ;;
	esac
	work=$CACHE_DIR/fuzz-corpus/$t
	mkdir -p "$work" "fuzz/corpus/$t" "fuzz/crashes/$t" "fuzz/artifacts/$t"
	# Problem inputs of earlier runs are in crashes/ already.
	rm -f "fuzz/artifacts/$t"/*
	nice -n 19 cargo fuzz build "${flags[@]}" "$t" >&2
	log "fuzzing $t for ${secs}s (nice 19, one process)"
	start=$(date +%s)
	set +e
	nice -n 19 cargo fuzz run "${flags[@]}" "$t" "$work" "fuzz/corpus/$t" -- \
		-max_total_time="$secs" -max_len=$maxlen -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 >"$CACHE_DIR/fuzz-$t.log" 2>&1
	rc=$?
	set -e
	grep -E '^#[0-9]+.*DONE|stat::number_of_executed_units|ERROR|panicked|SUMMARY' "$CACHE_DIR/fuzz-$t.log" >&2 || true
	log "$t: fuzzed for $(($(date +%s) - start))s, libFuzzer exit status $rc (log: $CACHE_DIR/fuzz-$t.log)"
	[ "$rc" = 0 ] || status=1
	for f in "fuzz/artifacts/$t"/*; do
		[ -e "$f" ] || continue
		cp "$f" "fuzz/crashes/$t/"
		log "problem input kept: tools/fuzz/crashes/$t/$(basename "$f")"
		status=1
	done
	# Keep the committed corpus small: add only inputs that add coverage.
	before=$(ls "fuzz/corpus/$t" | wc -l)
	nice -n 19 cargo fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" "$work" -- -merge=1 \
		-max_len=$maxlen -timeout=10 >/dev/null 2>&1 || true
	# The committed corpus stays under FUZZ_CORPUS_KB (default 2048): drop
	# the largest found inputs first (the seeds stay; the full corpus stays
	# in the cache for the next run).
	budget=$((${FUZZ_CORPUS_KB:-2048} * 1024))
	ls -S "fuzz/corpus/$t" | grep -v '^seed-' | while read -r f; do
		[ "$(cat "fuzz/corpus/$t"/* | wc -c)" -le "$budget" ] && break
		rm "fuzz/corpus/$t/$f"
	done
	log "$t corpus: $before -> $(ls "fuzz/corpus/$t" | wc -l) files ($(du -sh "fuzz/corpus/$t" | cut -f1))"
done
exit $status
