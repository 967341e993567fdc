#!/usr/bin/env bash
# The project's whole test suite: what README.md names as the test command
# and what CI runs.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

usage() {
	cat <<USAGE
Usage: $KSA_PROG [--quick]

Install what the tests need (scripts/setup.sh), then run, in order:
  lint           shellcheck on scripts/ and tests/, python3 on scripts/*.py
  tooling        tests/tooling.sh: fetch-base, apply, export on a synthetic base
  series         tests/series.sh: the real series on the pinned base
  verify-bisect  scripts/verify-bisect.sh --tier ci: every patch, in CI's
                 tier (README "The CI tier": x86_64, arm64 and s390; the
                 report's last section lists what it leaves to the tip or
                 does not build, with the commands that run it at every step)
  verify-selftest  tests/verify-selftest.sh: verify-bisect catches a broken
                 and a warning patch at the right steps
  runtime        tests/runtime.sh --suite arm64 --suite s390: arm64 KVM
                 selftests (base and tip compared), KUnit on arm64 and
                 s390, s390 boot checks under QEMU
  runtime-vfio   tests/runtime.sh --suite x86_64: the lifetime of a VM that
                 VFIO uses, on a KASAN and kmemleak kernel under QEMU
  clients        tests/runtime.sh --suite clients: real clients nobody here
                 wrote (../shared/clients): kvmtool runs an arm64 guest on
                 the base's and the tip's native KVM; QEMU's and kvmtool's
                 header scripts give the same trees on both

Each suite's result and time is printed; the last line sums them up as
"N passed, N failed, N skipped".  KSA_BASE_TARBALL or KSA_BASE_GIT_TREE
tell where the pinned base comes from (see scripts/fetch-base.sh).

  --quick   skip verify-bisect, verify-selftest and the runtime suites (the kernel
            builds),
            and say so in the summary

Exit codes: 0 everything passed, 1 something failed, 2 bad usage, 3 the
set-up failed.
USAGE
}
quick=0
case ${1:-} in
--quick) quick=1 ;;
-h | --help) usage; exit 0 ;;
'') ;;
*) usage_error "unknown argument '$1'" ;;
esac

"$KSA_ROOT/scripts/setup.sh" || die "$EX_ENV" "scripts/setup.sh failed: the tests cannot run"

pass=0 fail=0 skip=0
summary=()
logdir=$KSA_ROOT/build/test-logs
mkdir -p "$logdir"

# suite NAME CMD...: run a suite, show its output, add up its closing line.
suite() {
	local name=$1 t0 rc line p f s
	shift
	t0=$(date +%s)
	printf '\n=== %s\n' "$name"
	rc=0
	"$@" 2>&1 | tee "$logdir/$name.log" || rc=$?
	line=$(grep -E '^([a-z-]+: )?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$logdir/$name.log" | tail -n 1 || true)
	p=$(sed -n -E 's/^(.* )?([0-9]+) passed.*/\2/p' <<<"$line")
	f=$(sed -n -E 's/.* ([0-9]+) failed.*/\1/p' <<<"$line")
	s=$(sed -n -E 's/.* ([0-9]+) skipped.*/\1/p' <<<"$line")
	if [ -z "$line" ]; then
		# A suite that printed no count failed as a whole.
		p=0 f=1 s=0
	elif [ "$rc" != 0 ] && [ "${f:-0}" = 0 ]; then
		f=1
	fi
	pass=$((pass + ${p:-0})) fail=$((fail + ${f:-0})) skip=$((skip + ${s:-0}))
	summary+=("$(printf '%-16s exit %-3s %4ss  %s' "$name" "$rc" $(($(date +%s) - t0)) "${line:-no result line}")")
}

lint() {
	local n=0 bad=0 f
	for f in "$KSA_ROOT"/scripts/*.sh "$KSA_ROOT"/tests/*.sh "$KSA_ROOT"/.ci/run; do
		n=$((n + 1))
		if (cd "$KSA_ROOT" && shellcheck -x "${f#"$KSA_ROOT"/}"); then
			echo "ok $n - shellcheck ${f#"$KSA_ROOT"/}"
		else
			echo "not ok $n - shellcheck ${f#"$KSA_ROOT"/}"
			bad=$((bad + 1))
		fi
	done
	for f in "$KSA_ROOT"/scripts/*.py; do
		n=$((n + 1))
		if python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' "$f" && python3 "$f" --help >/dev/null; then
			echo "ok $n - python3 compiles ${f#"$KSA_ROOT"/} and it has --help"
		else
			echo "not ok $n - python3 ${f#"$KSA_ROOT"/}"
			bad=$((bad + 1))
		fi
	done
	echo "$((n - bad)) passed, $bad failed"
	[ "$bad" = 0 ]
}

suite lint lint
suite tooling "$KSA_ROOT/tests/tooling.sh"
suite series "$KSA_ROOT/tests/series.sh"
if [ "$quick" = 0 ]; then
	suite verify-bisect "$KSA_ROOT/scripts/verify-bisect.sh" --tier ci
	suite verify-selftest "$KSA_ROOT/tests/verify-selftest.sh"
	suite runtime "$KSA_ROOT/tests/runtime.sh" --suite arm64 --suite s390
	suite runtime-vfio "$KSA_ROOT/tests/runtime.sh" --suite x86_64
	suite clients "$KSA_ROOT/tests/runtime.sh" --suite clients
else
	skip=$((skip + 5))
	summary+=("verify-bisect    skipped (--quick): the per-patch kernel builds did not run")
	summary+=("verify-selftest  skipped (--quick)")
	summary+=("runtime          skipped (--quick): no kernel was built or booted")
	summary+=("runtime-vfio     skipped (--quick): no kernel was built or booted")
	summary+=("clients          skipped (--quick): no kernel was built or booted")
fi

printf '\n=== summary (%s)\n' "$(elapsed)"
printf '%s\n' "${summary[@]}" | tee "$logdir/summary.txt"
printf 'logs: %s\n' "$logdir"
printf '%d passed, %d failed, %d skipped\n' "$pass" "$fail" "$skip"
[ "$fail" = 0 ]
