#!/usr/bin/env bash
# verify-bisect must catch what it is for: a series with a patch that breaks
# the build and a patch that adds a warning, inserted in the middle of the
# real series, must be reported at exactly those steps.
# shellcheck source=tests/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

usage() {
	cat <<USAGE
Usage: $KSA_PROG

Insert bad patches after patch 1 of the series in a scratch copy of the
project: one that does not compile, one that adds a W=1 warning, one
whose only defect sparse finds (an undeclared global symbol), and one that
loses native s390 KVM when a .config of the base is upgraded, each
followed by one that restores the files, and run scripts/verify-bisect.sh
--arch s390 --only sparse,kconfig --tier ci (CI's tier: sparse on the
files a step changes) on the steps up to the first real patch after
them.  It shares the project's verify work tree, build directories and
result store, so the base is not built again and the steps build
incrementally.  Prints TAP lines and a closing "N passed, N failed" line.
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
# Every test patch must change something, or the steps below would be off
# by one: a commit with nothing to commit stops the test.
gc() { g diff --quiet HEAD && { t_fail "the test patch '$2' changes its file (the sed found its line)"; t_summary; exit; }; g commit -q -am "$2" "${@:3}"; }
n=$(grep -vc '^#' "$P/series")
tip=$(g rev-parse HEAD)
g reset -q --hard "HEAD~$((n - 1))"
f=drivers/vfio/vfio_main.c
sed -i '0,/^static bool vfio_assert_device_open/s//static bool vfio_assert_device_open_broken oops/' "$W/linux/$f"
gc -am "vfio: Break the build" -m "Test patch: does not compile." -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
g checkout -q HEAD~1 -- "$f"
sed -i '0,/^\tlockdep_assert_held(&device->dev_set->lock);/s//\tint unused_for_test;\n\n&/' "$W/linux/$f"
gc -am "vfio: Add a warning" -m "Test patch: compiles with a W=1 warning." -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
g checkout -q HEAD~2 -- "$f"
gc -am "vfio: Restore the file" -m "Test patch: back to patch 1." -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
# gcc has no warning for a global variable without a declaration (W=1's
# -Wmissing-declarations is for functions): only sparse reports it.
sed -i '0,/^static bool vfio_assert_device_open/s//int ksa_sparse_only_defect;\n\n&/' "$W/linux/$f"
gc -am "vfio: Add a defect only sparse finds" -m "Test patch: an undeclared global symbol." -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
g checkout -q HEAD~1 -- "$f"
gc -am "vfio: Restore the file again" -m "Test patch: back to patch 1." -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
# An upgrade that loses native s390 KVM (what a careless patch 14 would
# do): kvm.o is built with a new option that has no default, so the
# base's .config, and defconfig, come out without kvm.ko.
k=arch/s390/kvm
# shellcheck disable=SC2016 # a Makefile line, not a shell expansion
sed -i 's/^obj-\$(CONFIG_KVM) += kvm\.o$/obj-$(CONFIG_KVM_S390_TEST) += kvm.o/' "$W/linux/$k/Makefile"
sed -i 's/^config KVM_S390_UCONTROL$/config KVM_S390_TEST\n\ttristate "Native s390 KVM (test)"\n\tdepends on KVM\n\n&/' "$W/linux/$k/Kconfig"
gc -am "KVM: s390: Lose KVM on upgrades" -m "Test patch: kvm.o built with an option without a default." -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
g checkout -q HEAD~1 -- "$k/Makefile" "$k/Kconfig"
gc -am "KVM: s390: Restore KVM" -m "Test patch: back to patch 1." -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
g cherry-pick "$tip~$((n - 1))..$tip" >/dev/null
h=include/linux/vfio.h
# A header-only step that changes no token (what a pure move of
# definitions looks like to the compiler): no object is compiled again.
# The comment keeps its lines, so that __LINE__ in the header's inline
# functions (WARN_ON, lockdep) does not change.
sed -i 's/^ \* struct vfio_migration_ops - VFIO bus device driver migration callbacks$/& (test)/' "$W/linux/$h"
gc -am "vfio: Add a comment to a header" -m "Test patch: no token changes." -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
# Last, a header-only step whose defect only sparse finds: --tier ci leaves
# the files it recompiles to the sparse pass at the tip, which must fail.
# (In an inline function that a C file uses: sparse does not look into
# unused ones.)
sed -i 's/^\treturn device->cdev_opened;$/\tvoid __user *ksa_user = NULL;\n\tvoid *ksa_kernel = ksa_user;\n\n\treturn device->cdev_opened \&\& !ksa_kernel;/' "$W/linux/$h"
# And a comment in a header that KVM's objects read, most of them not
# vfio.h: the step before takes their tokens ahead (two header steps in a
# row preprocess each target once), and this step keeps them.
sed -i 's/^ \* kvm_dirty_ring: KVM internal dirty ring structure$/& (test)/' "$W/linux/include/linux/kvm_dirty_ring.h"
gc -am "vfio: Add a header defect only sparse finds" -m "Test patch: a __user pointer assigned to a kernel one, in a header." -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
"$P/scripts/export.sh" --work-tree "$W/linux" --branch "$br" >"$T_OUT" 2>&1 || { t_fail "export the altered series" "$T_OUT"; t_summary; exit; }

# A result store of its own, seeded with the base's results from the
# project's store (so the base is not built again); everything of the
# altered series is checked anew on every run.
RESULTS=$W/results
shopt -s nullglob
for d in "${KSA_VERIFY_RESULTS:-$KSA_ROOT/build/verify-results}"/*/"$(base_get import-commit)"; do
	k=$(basename "$(dirname "$d")")
	mkdir -p "$RESULTS/$k"
	cp -r "$d" "$RESULTS/$k/"
done
shopt -u nullglob
# KSA_TOKENS_MIN=1: the same-tokens check on vfio.h's few users too.
KSA_TOKENS_MIN=1 KSA_VERIFY_TREE=$KSA_ROOT/build/verify KSA_OUT=$KSA_ROOT/build/out KSA_VERIFY_RESULTS=$RESULTS \
	run "$P/scripts/verify-bisect.sh" --tier ci --arch s390 --only sparse,kconfig --report "$W/report"
cp "$T_OUT" "$W/verify.log"
check "verify-bisect fails on the altered series (exit 1)" test "$RC" = 1
json=$W/report/report.json
step_status() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([r for r in d["steps"] if r["step"] == int(sys.argv[2])][0]["checks"][sys.argv[3]]["status"])' "$json" "$1" "$2" 2>/dev/null; }
step_evidence() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([r for r in d["steps"] if r["step"] == int(sys.argv[2])][0]["checks"][sys.argv[3]]["evidence"])' "$json" "$1" "$2" 2>/dev/null; }
cp "$W/verify.log" "$T_OUT"
check "the first failure is reported as step 2, the patch that breaks the build" \
	test "$(python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))["first_failure"]; print(f["step"], f["check"])' "$json" 2>/dev/null)" = "2 build-s390"
check "the failing step's evidence names the compiler error in the broken file" sh -c "grep -q 'vfio_main.c:.*error' <<'E'
$(step_evidence 2 build-s390)
E"
check "step 3 fails with the new warning (unused variable)" sh -c "[ '$(step_status 3 build-s390)' = fail ] && grep -q 'unused_for_test' <<'E'
$(step_evidence 3 build-s390)
E"
step_evidence 5 build-s390 >"$T_OUT"
check "step 5 fails on s390 with sparse's finding as its only new warning (gcc has none for it)" \
	test "$(step_status 5 build-s390)" = fail -a "$(grep -c "ksa_sparse_only_defect' was not declared" "$T_OUT")" = 1 -a "$(grep -c 'warning:' "$T_OUT")" = 1
check "sparse ran at the s390 steps that compiled C files, and says how many it checked" sh -c "grep -Eq 'sparse checked (the )?[1-9][0-9]* C files' <<'E'
$(step_evidence 6 build-s390)
E"
step_evidence 7 kconfig >"$T_OUT"
check "step 7 fails kconfig: the base's .config upgraded, and defconfig, build no kvm.ko" \
	test "$(step_status 7 kconfig)" = fail -a "$(grep -c 'CONFIG_KVM_S390_TEST=n' "$T_OUT")" = 2
step_evidence 8 kconfig >"$T_OUT"
check "step 8 passes kconfig, with kvm.ko a module again (CONFIG_KVM=m)" \
	test "$(step_status 8 kconfig)" = pass -a "$(grep -c 'CONFIG_KVM=m' "$T_OUT")" = 2
check "kconfig is not run at a step that changes no Kconfig file or Makefile (step 2)" test "$(step_status 2 kconfig)" = same
check "step 1 and the steps after the bad ones pass" \
	test "$(for i in 1 4 6 9; do step_status $i build-s390; done | tr '\n' ' ')" = "pass pass pass pass "
tipn=$((n + 9))
step_evidence $((tipn - 1)) build-s390 >"$T_OUT"
check "a header step that changes no token keeps every target that reads it, not compiled, and passes" sh -c "[ '$(step_status $((tipn - 1)) build-s390)' = pass ] && grep -Eq '([1-9][0-9]*) of the \\1 Kbuild targets .* same tokens' <<'E'
$(step_evidence $((tipn - 1)) build-s390)
E"
check "a header step takes ahead the tokens of the targets that the next header step reaches and it does not" \
	grep -Eq 'the tokens of the [1-9][0-9]* targets that the next step.s headers reach taken ahead, [1-9][0-9]* of them not among this step.s' "$T_OUT"
step_evidence $tipn build-s390 >"$T_OUT"
check "a header step that changes tokens compiles the targets whose tokens changed, keeps the others, passes, and leaves its files to the tip's sparse pass" sh -c "[ '$(step_status $tipn build-s390)' = pass ] && grep -Eq 'sparse checked the 0 C files .*[1-9][0-9]* other files left to the sparse pass at the tip.* [1-9][0-9]* of the [1-9][0-9]* Kbuild targets' <<'E'
$(step_evidence $tipn build-s390)
E"
kept=$(grep -Eo '[0-9]+ of the [0-9]+ Kbuild targets' "$T_OUT" | head -n 1)
check "that step keeps some of its targets and compiles the others ($kept kept)" \
	sh -c "set -- $kept; [ \"\$1\" -gt 0 ] && [ \"\$1\" -lt \"\$4\" ]"
check "the header step after one preprocesses none of its targets before it: the step before took their tokens" \
	grep -q ' 0 of them preprocessed before the step' "$T_OUT"
step_evidence $tipn sparse-s390 >"$T_OUT"
check "the sparse pass at the tip fails with the header's defect" sh -c "[ '$(step_status $tipn sparse-s390)' = fail ] && grep -q 'vfio.h.*different address spaces' <<'E'
$(step_evidence $tipn sparse-s390)
E"
check "CI's output lists what the tier does not run at every step, with the commands" \
	grep -q 'scripts/verify-bisect.sh --arch arm64,s390 --only sparse' "$W/verify.log"
check "the Markdown report marks the failures" grep -q '| 2 | .*Break-the-build.* | \*\*FAIL\*\*' "$W/report/report.md"

# Results are kept per commit: a second run with nothing changed builds
# nothing and gives the same report.
cp "$json" "$W/report.first.json"
rm -f "$json"
t0=$(date +%s)
KSA_TOKENS_MIN=1 KSA_VERIFY_TREE=$KSA_ROOT/build/verify KSA_OUT=$KSA_ROOT/build/out KSA_VERIFY_RESULTS=$RESULTS \
	run "$P/scripts/verify-bisect.sh" --tier ci --arch s390 --only sparse,kconfig --report "$W/report"
secs=$(($(date +%s) - t0))
check "a rerun with nothing changed fails the same way and gives the same report ($secs s)" \
	sh -c "[ $RC = 1 ] && cmp -s '$json' '$W/report.first.json'"
check "a rerun with nothing changed builds nothing and takes under 2 minutes" \
	sh -c "! grep -q '\] build ' '$T_OUT' && [ $secs -lt 120 ]"
t_summary
