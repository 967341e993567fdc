# shellcheck shell=bash
# Minimal test harness: TAP lines on stdout, a closing
# "N passed, N failed, N skipped" line, evidence on failure.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
set +e

T_PASS=0 T_FAIL=0 T_SKIP=0 T_N=0
T_OUT=$(mktemp "${TMPDIR:-/tmp}/ksa-test-out.XXXXXX")
# t_on_exit CMD: run CMD when the test script exits, whatever the reason;
# $T_OUT is removed then too (a script that stops early, or a --help,
# leaves nothing in /tmp).
T_ON_EXIT=:
t_on_exit() { T_ON_EXIT=$1; }
t_exit() {
	eval "$T_ON_EXIT"
	rm -f "$T_OUT"
}
trap t_exit EXIT

t_ok() { T_N=$((T_N + 1)); T_PASS=$((T_PASS + 1)); printf 'ok %d - %s\n' "$T_N" "$1"; }
t_skip() { T_N=$((T_N + 1)); T_SKIP=$((T_SKIP + 1)); printf 'ok %d - %s # SKIP %s\n' "$T_N" "$1" "$2"; }

# t_fail NAME [EVIDENCE-FILE]: a failed test, with the evidence indented.
t_fail() {
	T_N=$((T_N + 1))
	T_FAIL=$((T_FAIL + 1))
	printf 'not ok %d - %s\n' "$T_N" "$1"
	[ -z "${2:-}" ] || [ ! -s "$2" ] || tail -n 40 "$2" | sed 's/^/#   /'
}

# run CMD...: run with output captured in $T_OUT; sets RC.
run() {
	"$@" >"$T_OUT" 2>&1
	RC=$?
}

# check NAME CONDITION...: pass if the condition (a command) succeeds.
check() {
	local name=$1
	shift
	if "$@"; then t_ok "$name"; else t_fail "$name" "$T_OUT"; fi
}

# expect NAME CODE PATTERN CMD...: CMD exits with CODE and its output matches
# the extended regex PATTERN ("" for any).
expect() {
	local name=$1 code=$2 pat=$3
	shift 3
	run "$@"
	if [ "$RC" = "$code" ] && { [ -z "$pat" ] || grep -Eq -- "$pat" "$T_OUT"; }; then
		t_ok "$name"
	else
		printf 'exit code %s (expected %s), output expected to match: %s\n' "$RC" "$code" "$pat" >>"$T_OUT"
		t_fail "$name" "$T_OUT"
	fi
}

# t_no_args ARGS...: for a test script that takes no arguments but --help
# (the script defines usage).
t_no_args() {
	case ${1:-} in
	-h | --help) usage; exit 0 ;;
	'') ;;
	*) usage_error "unknown argument '$1'" ;;
	esac
}

# t_scratch NAME: $W, a scratch directory removed at exit together with the
# kernel worktree $W/linux and its branch $T_BRANCH, where a test made them.
t_scratch() {
	W=$(mktemp -d "${TMPDIR:-/tmp}/ksa-$1.XXXXXX")
	T_BRANCH=ksa-$1-$$
	t_on_exit t_cleanup
}

t_cleanup() {
	local common
	if common=$(git -C "$W/linux" rev-parse --path-format=absolute --git-common-dir 2>/dev/null); then
		git --git-dir="$common" worktree remove --force "$W/linux" >/dev/null 2>&1
		git --git-dir="$common" branch -q -D "$T_BRANCH" >/dev/null 2>&1
	fi
	rm -rf "$W"
}

# t_project DIR: a copy of the project (tooling, series, configs, rules).
t_project() {
	mkdir -p "$1"
	cp -r "$KSA_ROOT/scripts" "$KSA_ROOT/patches" "$KSA_ROOT/series" "$KSA_ROOT/base-commit" \
		"$KSA_ROOT/configs" "$KSA_ROOT/cocci" "$KSA_ROOT/checkpatch.ignore" "$KSA_ROOT/disasm.explained" "$1/"
}

t_summary() {
	rm -f "$T_OUT"
	printf '%d passed, %d failed, %d skipped\n' "$T_PASS" "$T_FAIL" "$T_SKIP"
	[ "$T_FAIL" = 0 ]
}
