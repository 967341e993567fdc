#!/usr/bin/env bash
# verify-bisect must catch what it is for: a series with a patch that breaks
# the build and a patch that adds a warning, inserted in the middle of the
# real series, must be reported at exactly those steps.
# shellcheck source=tests/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

usage() {
	cat <<USAGE
Usage: $KSA_PROG

Insert two bad patches after patch 1 of the series (one that does not
compile, one that adds a W=1 warning) in a scratch copy of the project and
run scripts/verify-bisect.sh --arch x86_64 --quick on its first five
steps, sharing the
project's verify work tree and build directories so the builds stay
incremental.  Prints TAP lines and a closing "N passed, N failed" line.
Exit codes: 0 all passed, 1 a test failed, 2 bad usage.
USAGE
}
t_no_args "$@"

t_scratch verify-selftest
P=$W/project
t_project "$P"
br=$T_BRANCH
"$P/scripts/apply.sh" --work-tree "$W/linux" --branch "$br" >"$T_OUT" 2>&1 || { t_fail "apply the series" "$T_OUT"; t_summary; exit; }
g() { GIT_AUTHOR_DATE=2026-11-24T12:00:00+0000 git -C "$W/linux" -c "user.name=$KSA_NAME" -c "user.email=$KSA_EMAIL" "$@"; }
n=$(grep -vc '^#' "$P/series")
tip=$(g rev-parse HEAD)
g reset -q --hard "HEAD~$((n - 1))"
f=drivers/vfio/vfio_main.c
sed -i '0,/^static bool vfio_assert_device_open/s//static bool vfio_assert_device_open_broken oops/' "$W/linux/$f"
g commit -q -am "vfio: Break the build" -m "Test patch: does not compile." -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
g checkout -q HEAD~1 -- "$f"
sed -i '0,/^\tlockdep_assert_held(&device->dev_set->lock);/s//\tint unused_for_test;\n\n&/' "$W/linux/$f"
g commit -q -am "vfio: Add a warning" -m "Test patch: compiles with a W=1 warning." -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
g checkout -q HEAD~2 -- "$f"
g commit -q -am "vfio: Restore the file" -m "Test patch: back to patch 1." -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
g cherry-pick "$tip~$((n - 1))..$tip" >/dev/null
"$P/scripts/export.sh" --work-tree "$W/linux" --branch "$br" >"$T_OUT" 2>&1 || { t_fail "export the altered series" "$T_OUT"; t_summary; exit; }

KSA_VERIFY_TREE=$KSA_ROOT/build/verify KSA_OUT=$KSA_ROOT/build/out KSA_VERIFY_RESULTS=$W/results \
	run "$P/scripts/verify-bisect.sh" --arch x86_64 --quick --patches 1-5 --report "$W/report"
cp "$T_OUT" "$W/verify.log"
check "verify-bisect fails on the altered series (exit 1)" test "$RC" = 1
json=$W/report/report.json
step_status() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([r for r in d["steps"] if r["step"] == int(sys.argv[2])][0]["checks"][sys.argv[3]]["status"])' "$json" "$1" "$2" 2>/dev/null; }
step_evidence() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([r for r in d["steps"] if r["step"] == int(sys.argv[2])][0]["checks"][sys.argv[3]]["evidence"])' "$json" "$1" "$2" 2>/dev/null; }
cp "$W/verify.log" "$T_OUT"
check "the first failure is reported as step 2, the patch that breaks the build" \
	test "$(python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))["first_failure"]; print(f["step"], f["check"])' "$json" 2>/dev/null)" = "2 build-x86_64"
check "the failing step's evidence names the compiler error in the broken file" sh -c "grep -q 'vfio_main.c:.*error' <<'E'
$(step_evidence 2 build-x86_64)
E"
check "step 3 fails with the new warning (unused variable)" sh -c "[ '$(step_status 3 build-x86_64)' = fail ] && grep -q 'unused_for_test' <<'E'
$(step_evidence 3 build-x86_64)
E"
check "step 1 and the steps after the bad ones pass" \
	test "$(for i in 1 4 5; do step_status $i build-x86_64; done | tr '\n' ' ')" = "pass pass pass "
check "the Markdown report marks the failures" grep -q '| 2 | .*Break-the-build.* | \*\*FAIL\*\*' "$W/report/report.md"

# Results are kept per commit: a second run with nothing changed builds
# nothing and gives the same report.
cp "$json" "$W/report.first.json"
rm -f "$json"
t0=$(date +%s)
KSA_VERIFY_TREE=$KSA_ROOT/build/verify KSA_OUT=$KSA_ROOT/build/out KSA_VERIFY_RESULTS=$W/results \
	run "$P/scripts/verify-bisect.sh" --arch x86_64 --quick --patches 1-5 --report "$W/report"
secs=$(($(date +%s) - t0))
check "a rerun with nothing changed fails the same way and gives the same report ($secs s)" \
	sh -c "[ $RC = 1 ] && cmp -s '$json' '$W/report.first.json'"
check "a rerun with nothing changed builds nothing and takes under 2 minutes" \
	sh -c "! grep -q '\] build ' '$T_OUT' && [ $secs -lt 120 ]"
t_summary
