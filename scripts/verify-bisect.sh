#!/usr/bin/env bash
# Walk the series patch by patch and check that every step builds and is
# clean, for every architecture the step can affect.
# The checks are called through timed(), which shellcheck does not follow.
# shellcheck disable=SC2317
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	cat <<USAGE
Usage: $KSA_PROG [--arch LIST] [--patches N-M] [--quick | --only LIST]
       [--tier ci] [--tip-only LIST] [--report DIR]

Apply patches/ to the pinned base in the work tree build/verify and walk it
commit by commit.  At every step, for every configuration in the matrix that
the step affects, build incrementally with W=1 (and sparse, C=1, on s390 and
arm64) and compare the warnings with those of all earlier steps: a new one
fails the step.  sparse is the one scripts/fetch-sparse.sh builds (Debian
12's is too old for this kernel); every C=1 build must show that sparse ran
on the files it compiled.  Each patch also goes through checkpatch.pl --strict (minus
the reasoned ignores in checkpatch.ignore), kernel-doc on the files it
changes, the Coccinelle rules in cocci/ and a selection of the kernel's, and
a comparison of 'make headers_install' with the base for x86_64, arm64 and
s390, byte for byte: the base's files with the base's bytes, no file added
(s390 may add only the arm64 KVM UAPI, under arch/arm64/, which must be
arm64's headers with patch 4's rewrites and arm64's ABI); a header that
differs is shown with a diff and with what scripts/uapi-abi.sh finds of its
ABI (constants such as ioctl numbers, and struct layouts, compiled for each
architecture).  The x86_64, arm64 and s390
configurations build with CONFIG_UAPI_HEADER_TEST, so every installed header
must also compile on its own.  At every step that builds arm64 again, the
machine code of its KVM objects (virt/kvm, arch/arm64/kvm with the hyp) is
compared with the step before, function by function
(scripts/compare-disasm.py, "disasm"): every function that differs must be
explained for that patch in disasm.explained.  arm64's generated headers
(sysreg-defs.h and the others) must stay the base's, byte for byte, and the
arm64 headers s390 generates for itself must be what arm64's generator makes
of arm64's input ("generated").  At every step that touches what they read,
the header import scripts of kvmtool and QEMU (../shared/clients/) must give
the base's trees ("clients").  At every step that changes a Kconfig file,
a Makefile or s390's configs, the base's s390 defconfig run through the
step's 'make olddefconfig', and the step's own s390 defconfig, must both
build native s390 KVM (kvm.ko) as a module ("kconfig").

The matrix (tinyconfig + configs/ARCH-kvm.config + configs/boot-ARCH.config
where there is one, the configurations tests/runtime.sh boots): x86_64,
arm64, s390, riscv, powerpc, mips and loongarch, each built at the base and
at every step whose files its previous build read (else "unchanged
inputs"); an architecture without a Debian cross compiler (loongarch) is
reported as not checked.

  --arch LIST      only these architectures (comma separated)
  --patches N-M    only steps N to M (1-based; the base is always the
                   baseline for warnings)
  --quick          builds and checkpatch only (no sparse, kernel-doc,
                   Coccinelle, headers): the same as --only build,checkpatch
  --only LIST      only these checks (comma separated): build, sparse
                   (implies build), checkpatch, kernel-doc, coccinelle, uapi,
                   clients, disasm (implies build), generated (implies
                   build), kconfig
  --tip-only LIST  build these architectures (of riscv, powerpc, mips,
                   loongarch) at the base and the last step only, the
                   steps between reported as not checked with the command
                   that checks them (a tier for CI, see README)
  --tier ci        CI's tier (README, "The CI tier"): x86_64, arm64 and
                   s390 built at every step whose inputs change, with
                   sparse on the C files the step changes; sparse on the
                   other files a step recompiles once, at the tip (C=2);
                   the kernel's Coccinelle rules once, at the tip, on every
                   C file the series changes; QEMU's header script left
                   to the clients suite (base and tip); riscv, powerpc and mips at
                   the base and the tip only if --tip-only names them,
                   else not built (reported as not checked; --arch
                   overrides the tier's architectures).  What it does not run
                   at every step is listed at the end of the report, with
                   the command that runs it.  Without --tier, everything
                   runs at every step.
  --report DIR     where report.md and report.json go
                   (default: build/verify-report)

A check whose inputs a step does not touch is not run again and is reported
as "unchanged inputs", not as passed: a build whose architecture reads none
of the step's files (Kbuild's own dependency files of the previous build
say which it reads; a changed Makefile, Kbuild, Kconfig or script always
counts), the headers check when no UAPI header or header-install file
changes, kernel-doc and Coccinelle when no C file or header (and no file a
project rule's prefilter matches) changes.  At a step that changes only
headers, the objects whose preprocessed tokens and command stay the same
(scripts/same-tokens.py, where at least KSA_TOKENS_MIN=200 targets read
the headers) are kept, not compiled; when all are, the build is
"unchanged inputs" too.  Every check that runs proves it
did: sparse's count of checked files, checkpatch's summary line, the files
kernel-doc and Coccinelle read, the headers compared, and a canary per run
(kernel-doc and spatch must report a known defect).  report.json keeps the
time of every build and check.

Results are kept per commit id and check in build/verify-results, so an
interrupted run continues where it stopped and a second run with nothing
changed only prints the report.  KSA_VERIFY_TREE, KSA_VERIFY_RESULTS and
KSA_OUT move the work tree, the results and the build directories.

Exit codes: 0 every check passed, 1 a check failed (the report names the
first failing patch), 2 bad usage or a bad series, 3 a tool is missing,
4 the base does not match base-commit.
USAGE
}

ALL_ARCHES=(x86_64 arm64 s390 riscv powerpc mips loongarch)
ALWAYS_ARCHES=" x86_64 arm64 s390 "
SPARSE_ARCHES=" arm64 s390 "
HEADER_ARCHES=(x86_64 arm64 s390)
# Kernel Coccinelle rules worth running on every changed C file.
KERNEL_COCCI=(
	api/memdup_user api/kfree_mismatch api/kvmalloc api/alloc/zalloc-simple
	free/kfree free/put_device free/devm_free
	null/deref_null null/eno
	locks/double_lock locks/mini_lock locks/flags locks/call_kern
	misc/semicolon misc/cond_no_effect misc/doubleinit misc/noderef misc/warn
)

arches=("${ALL_ARCHES[@]}")
arch_given=
range=
only=
tip_only=()
tier=
report_dir=$KSA_ROOT/build/verify-report
while [ $# -gt 0 ]; do
	case $1 in
	--arch) [ $# -ge 2 ] || usage_error "--arch needs a list"; IFS=, read -r -a arches <<<"$2"; arch_given=1; shift 2 ;;
	--patches) [ $# -ge 2 ] || usage_error "--patches needs N-M"; range=$2; shift 2 ;;
	--quick) only=build,checkpatch; shift ;;
	--only) [ $# -ge 2 ] || usage_error "--only needs a list of checks"; only=$2; shift 2 ;;
	--tip-only) [ $# -ge 2 ] || usage_error "--tip-only needs a list of architectures"; IFS=, read -r -a tip_only <<<"$2"; shift 2 ;;
	--tier)
		[ $# -ge 2 ] || usage_error "--tier needs a name (ci)"
		[ "$2" = ci ] || usage_error "--tier: unknown tier '$2' (known: ci)"
		tier=$2
		shift 2
		;;
	--report) [ $# -ge 2 ] || usage_error "--report needs a directory"; report_dir=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage_error "unknown argument '$1'" ;;
	esac
done
# tier_arches: CI's tier builds x86_64, arm64 and s390 only (README, "The
# CI tier"); riscv, powerpc and mips go to tier_out, reported as not
# checked with the command that checks them, unless --arch or --tip-only
# names them.
tier_arches() {
	local a
	tier_out=()
	[ -n "$tier" ] && [ -z "$arch_given" ] || return 0
	for a in riscv powerpc mips; do
		[[ " ${tip_only[*]} " == *" $a "* ]] || tier_out+=("$a")
	done
}
# mark_not_built ARCH WHY: ARCH's builds at the base and at every step of
# the run are not checked, for WHY (a "skip" is not kept as a result: the
# next run tries again).
mark_not_built() {
	local i
	for i in 0 $(seq "$first" "$last"); do
		mkdir -p "$RES/${commits[$i]}"
		printf 'skip\n%s\n' "$2" >"$RES/${commits[$i]}/build-$1"
	done
}
# mark_tier_out: the architectures of tier_out are not checked, with the
# command that checks them.
mark_tier_out() {
	local a cmd
	[ ${#tier_out[@]} -gt 0 ] || return 0
	cmd="scripts/verify-bisect.sh --arch $(
		IFS=,
		echo "${tier_out[*]}"
	) --only build"
	for a in "${tier_out[@]}"; do
		log "$a: not built in this tier; $cmd builds it"
		mark_not_built "$a" "not built in this tier (--tier ci builds x86_64, arm64 and s390); $cmd builds it at the base and every step"
	done
}
tier_arches
for a in "${arches[@]}" "${tip_only[@]}"; do
	case " ${ALL_ARCHES[*]} " in *" $a "*) ;; *) usage_error "unknown architecture '$a' (known: ${ALL_ARCHES[*]})" ;; esac
done
for a in "${tip_only[@]}"; do
	case " $ALWAYS_ARCHES " in *" $a "*) usage_error "--tip-only $a: x86_64, arm64 and s390 are built at every step" ;; esac
done
ALL_CHECKS="build sparse checkpatch kernel-doc coccinelle uapi clients disasm generated kconfig"
declare -A want_check=()
for c in ${only//,/ }; do
	case " $ALL_CHECKS " in *" $c "*) want_check[$c]=1 ;; *) usage_error "--only: unknown check '$c' (known: $ALL_CHECKS)" ;; esac
done
if [ -z "$only" ]; then for c in $ALL_CHECKS; do want_check[$c]=1; done; fi
[ ${#want_check[@]} -gt 0 ] || usage_error "--only names no check (known: $ALL_CHECKS)"
[ -z "${want_check[sparse]:-}" ] || want_check[build]=1
[ -z "${want_check[disasm]:-}" ] || want_check[build]=1
[ -z "${want_check[generated]:-}" ] || want_check[build]=1
on() { [ -n "${want_check[$1]:-}" ]; }
need_cmd git make gcc ccache:ccache python3 perl
on coccinelle && need_cmd spatch:coccinelle
on uapi && need_cmd pahole:dwarves
on clients && need_clients && need_cmd xz:xz-utils rsync:rsync flock:util-linux
on disasm && need_cmd ar:binutils
SPARSE=
if on sparse; then
	SPARSE=$("$KSA_ROOT/scripts/fetch-sparse.sh") || die "$EX_ENV" "no sparse that the kernel accepts: see scripts/fetch-sparse.sh --help"
fi

series_txt=$(series_checked) || exit
mapfile -t patches < <(printf '%s' "$series_txt" | sed '/^$/d')
n=${#patches[@]}
first=1 last=$n
if [ -n "$range" ]; then
	[[ $range =~ ^([0-9]+)-([0-9]+)$ ]] || usage_error "--patches takes N-M, not '$range'"
	first=${BASH_REMATCH[1]} last=${BASH_REMATCH[2]}
	if [ "$first" -lt 1 ] || [ "$last" -gt "$n" ] || [ "$first" -gt "$last" ]; then
		usage_error "--patches $range is outside 1-$n"
	fi
fi

build_lock
base_out=$("$KSA_ROOT/scripts/fetch-base.sh")
base_gitdir=$(sed -n 1p <<<"$base_out")
base=$(sed -n 2p <<<"$base_out")

VT=${KSA_VERIFY_TREE:-$KSA_ROOT/build/verify}
# Results depend on the commit and on how it was checked: the mode, the
# config fragments, the rules, the ignore list and the compilers.
checks_key=$(
	{
		# Which checks run does not change a result, but sparse changes the
		# builds' results.
		if on sparse; then echo sparse=on; else echo sparse=off; fi
		# The tier changes what a build's sparse and Coccinelle saw, and
		# --tip-only which steps a build's warnings are compared with.
		echo "tier=${tier:-full} tip-only=${tip_only[*]}"
		cat "$KSA_ROOT"/configs/*.config "$KSA_ROOT/checkpatch.ignore" "$KSA_ROOT"/cocci/*.cocci
		echo "${KSA_KBUILD_FLAGS[*]}"
		printf '%s\n' "${KERNEL_COCCI[@]}"
		# Every architecture's compiler, whichever --arch names: a run on
		# some architectures shares the results of a run on all of them.
		for a in "${ALL_ARCHES[@]}"; do
			if p=$(cross_prefix "$a"); then "${p}gcc" --version | head -n 1; fi
		done
		[ -z "$SPARSE" ] || "$SPARSE" --version
		# The form of the results: 3 since sparse really runs, 4 since the
		# kernel's Coccinelle rules are a check of their own.
		echo results=4
		spatch --version 2>/dev/null | head -n 1 || true
	} | sha256sum | cut -c1-16
)
RES=${KSA_VERIFY_RESULTS:-$KSA_ROOT/build/verify-results}/$checks_key
mkdir -p "$RES" "$report_dir"
# The UAPI results also depend on scripts/uapi-abi.sh and on the check's
# own rules: when either changes, only they are done again.
abi_hash=$(cat "$KSA_ROOT/scripts/uapi-abi.sh" "$KSA_ROOT/scripts/checks/uapi.sh" | sha256sum | cut -c1-16)
if [ "$(cat "$RES/uapi-abi.hash" 2>/dev/null)" != "$abi_hash" ]; then
	rm -f "$RES"/*/uapi
	echo "$abi_hash" >"$RES/uapi-abi.hash"
fi
# The disasm results depend on the comparison script, the check and the
# explanations: when one changes, only they are done again.
# (A project without disasm.explained explains nothing.)
disasm_hash=$(cat "$KSA_ROOT/scripts/compare-disasm.py" "$KSA_ROOT/scripts/checks/disasm.sh" \
	"$(if [ -f "$KSA_ROOT/disasm.explained" ]; then echo "$KSA_ROOT/disasm.explained"; else echo /dev/null; fi)" | sha256sum | cut -c1-16)
if [ "$(cat "$RES/disasm.hash" 2>/dev/null)" != "$disasm_hash" ]; then
	rm -f "$RES"/*/disasm-*
	echo "$disasm_hash" >"$RES/disasm.hash"
fi
# The same for the generated check and for the clients check (whose
# scripts' outputs are kept per commit and the clients' key, lib.sh).
clients_hash=$({ cat "$KSA_ROOT/scripts/checks/clients.sh"; echo "$KSA_CLIENTS_INPUTS"; declare -f client_headers_dir client_headers_make qemu_headers_ok; clients_key; } | sha256sum | cut -c1-16)
if [ "$(cat "$RES/clients.hash" 2>/dev/null)" != "$clients_hash" ]; then
	rm -f "$RES"/*/clients
	echo "$clients_hash" >"$RES/clients.hash"
fi
generated_hash=$(sha256sum <"$KSA_ROOT/scripts/checks/generated.sh" | cut -c1-16)
if [ "$(cat "$RES/generated.hash" 2>/dev/null)" != "$generated_hash" ]; then
	rm -f "$RES"/*/generated
	echo "$generated_hash" >"$RES/generated.hash"
fi
kconfig_hash=$(sha256sum <"$KSA_ROOT/scripts/checks/kconfig.sh" | cut -c1-16)
if [ "$(cat "$RES/kconfig.hash" 2>/dev/null)" != "$kconfig_hash" ]; then
	rm -f "$RES"/*/kconfig "$RES"/*/kconfig-s390.config
	echo "$kconfig_hash" >"$RES/kconfig.hash"
fi
vgit() { GIT_COMMITTER_NAME=$KSA_NAME GIT_COMMITTER_EMAIL=$KSA_EMAIL git -C "$VT" "$@"; }

# --- the commits of the series ------------------------------------------
# ksa_am (lib.sh) makes the commit ids depend only on the patches, so
# results can be keyed by them.
progress 0 "$n" "applying the series in $VT"
if ! is_git_work_tree "$VT"; then
	git --git-dir="$base_gitdir" worktree prune
	git --git-dir="$base_gitdir" worktree add -q -f --detach "$VT" "$base"
fi
vgit am --abort >/dev/null 2>&1 || true
vgit checkout -q -f --detach "$base"
commits=("$base")
for i in $(seq 1 "$n"); do
	if ! ksa_am "$VT" "$KSA_ROOT/patches/${patches[$((i - 1))]}" >/dev/null 2>&1; then
		vgit am --abort >/dev/null 2>&1 || true
		die "$EX_FAIL" "step $i: patches/${patches[$((i - 1))]} does not apply: run scripts/apply.sh to see the conflict"
	fi
	commits+=("$(vgit rev-parse HEAD)")
done

# The checks run partly in subshells, whose checkouts the parent shell
# does not see: ask git where the tree is.
checkout() {
	[ "$(vgit rev-parse HEAD)" = "$1" ] && return 0
	vgit checkout -q -f --detach "$1"
}

# --- what each step affects -----------------------------------------------
# Renames as a deletion and an addition, so that both paths are seen.
changed_files() { vgit diff --no-renames --name-only "${commits[$(($1 - 1))]}" "${commits[$1]}"; }
# added_files STEP: the files STEP adds.
added_files() { vgit diff --no-renames --name-only --diff-filter=A "${commits[$(($1 - 1))]}" "${commits[$1]}"; }

# Every architecture with a compiler is built at the base; at each step,
# untouched_inputs (below) decides from the previous build's own dependency
# files whether the step can change that build.
build_arches=()
mark_tier_out
for a in "${arches[@]}"; do
	if [[ " ${tier_out[*]} " == *" $a "* ]]; then
		continue
	elif cross_prefix "$a" >/dev/null; then
		build_arches+=("$a")
	elif [[ $ALWAYS_ARCHES == *" $a "* ]]; then
		die "$EX_ENV" "no compiler for $a, which every step needs: run scripts/setup.sh"
	else
		log "no Debian cross compiler for $a: its builds are reported as not checked"
		mark_not_built "$a" "no Debian cross compiler for $a on this machine"
	fi
done

# --- result store -------------------------------------------------------
# $RES/<commit>/<check>: first line pass, fail or skip, then the evidence.
result_file() { printf '%s/%s/%s' "$RES" "${commits[$1]}" "$2"; }
# A "skip" is not kept as a result: the next run tries again.
have_result() {
	local f
	f=$(result_file "$1" "$2")
	[ -s "$f" ] && [ "$(head -n 1 "$f")" != skip ]
}
put_result() {
	local f
	f=$(result_file "$1" "$2")
	mkdir -p "${f%/*}"
	{ printf '%s\n' "$3"; cat; } >"$f.tmp"
	mv "$f.tmp" "$f"
}

# normalize [all]: one warning a line (with "all", every line), without
# line and column numbers or absolute paths, so that a warning that only
# moves is not new.
# The compiler names sources relative to the build directory (lib.sh
# kmake), sparse and the other tools absolutely.
VT_REL=$(realpath -m --relative-to="$KSA_OUT/x" "$VT" | sed 's/[.]/[.]/g')
normalize() {
	local keep='/(warning|error)[: ]/I'
	[ "${1:-}" = all ] && keep='/./'
	sed -n -E -e "s#$VT/##g" -e "s#(^|[ '\"(])$VT_REL/#\\1#g" -e "s#$KSA_OUT/[^/ ]*/##g" \
		-e "${keep}{s/:[0-9]+(:[0-9]+)?(-[0-9]+)?(:| )/\\3/g;p}" | sort -u
}

# known_warnings CHECK STEP: every warning of CHECK at the steps before STEP.
known_warnings() {
	local i f
	for i in $(seq 0 $(($2 - 1))); do
		f=$RES/${commits[$i]}/$1.warnings
		if [ -f "$f" ]; then cat "$f"; fi
	done | sort -u
}

# --- the checks -----------------------------------------------------------
# One file per check in scripts/checks/, each a function check_NAME STEP (or
# build_step STEP ARCH) with one contract: it returns at once if the step
# has a result (have_result), else it decides from the step's files whether
# its inputs changed (if not: put_result ... same, "unchanged inputs: why"),
# runs, and stores pass or fail with put_result, the evidence's first line
# its one-line summary; a tool that fails is a fail (tool_errors), never a
# pass.  The runner below times each call and writes the report.  A check
# the coming patches need is one more file here and one more line in the
# walk.
# shellcheck source=scripts/checks/build.sh
source "$KSA_ROOT/scripts/checks/build.sh"
# shellcheck source=scripts/checks/sparse-tip.sh
source "$KSA_ROOT/scripts/checks/sparse-tip.sh"
# shellcheck source=scripts/checks/checkpatch.sh
source "$KSA_ROOT/scripts/checks/checkpatch.sh"
# shellcheck source=scripts/checks/kernel-doc.sh
source "$KSA_ROOT/scripts/checks/kernel-doc.sh"
# shellcheck source=scripts/checks/coccinelle.sh
source "$KSA_ROOT/scripts/checks/coccinelle.sh"
# shellcheck source=scripts/checks/cocci-kernel.sh
source "$KSA_ROOT/scripts/checks/cocci-kernel.sh"
# shellcheck source=scripts/checks/uapi.sh
source "$KSA_ROOT/scripts/checks/uapi.sh"
# shellcheck source=scripts/checks/disasm.sh
source "$KSA_ROOT/scripts/checks/disasm.sh"
# shellcheck source=scripts/checks/generated.sh
source "$KSA_ROOT/scripts/checks/generated.sh"
# shellcheck source=scripts/checks/clients.sh
source "$KSA_ROOT/scripts/checks/clients.sh"
# shellcheck source=scripts/checks/kconfig.sh
source "$KSA_ROOT/scripts/checks/kconfig.sh"

# has_snapshots STEP ARCH: STEP's build of ARCH left what the checks keep
# of it (the disasm check's objects, the generated check's base headers).
has_snapshots() { has_snapshot "$1" "$2" && has_generated_snapshot "$1" "$2"; }

# --- helpers of the checks -------------------------------------------------

# --- per-patch checks -----------------------------------------------------

# run_on_versions STEP CMD: run CMD (reading file names on stdin, printing
# findings) on the files STEP changes, at the step before and at STEP, and
# print the findings that are new at STEP.  RV_FROM (a step) and RV_FILES
# (file names) compare another step and other files with STEP.
# The versions before the step are read from git into a scratch tree (with
# the work tree's scripts/), so that the work tree stays at STEP: checking
# out the step before and back would give the files of STEP new times, and
# the next step's builds would compile again what STEP changed.
run_on_versions() {
	local step=$1 before after files f old prev=${commits[$((${RV_FROM:-$(($1 - 1))}))]}
	shift
	files=${RV_FILES:-$(changed_files "$step")}
	checkout "${commits[$step]}"
	after=$(printf '%s\n' "$files" | (cd "$VT" && "$@") | normalize all)
	# Nothing found after the step: nothing can be new, and the versions
	# before need not be read.
	[ -n "$after" ] || return 0
	old=$(mktemp -d "${TMPDIR:-/tmp}/ksa-before.XXXXXX")
	while IFS= read -r f; do
		if [ -z "$f" ] || ! vgit cat-file -e "$prev:$f" 2>/dev/null; then continue; fi
		mkdir -p "$old/$(dirname "$f")"
		vgit show "$prev:$f" >"$old/$f"
	done <<<"$files"
	ln -s "$(realpath "$VT")/scripts" "$old/scripts"
	before=$(printf '%s\n' "$files" | (cd "$old" && "$@") | sed "s#$old/##g" | normalize all)
	rm -rf "$old"
	comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after")
}

# Findings go to stdout; a tool that fails goes to $TOOL_ERRORS, which
# fails the check instead of looking like "no findings".
TOOL_ERRORS=$(mktemp "${TMPDIR:-/tmp}/ksa-tool-errors.XXXXXX")
trap 'rm -f "$TOOL_ERRORS"; clients_cleanup' EXIT

# tool_errors CHECK STEP: fail CHECK at STEP if a tool failed; true if so.
tool_errors() {
	[ -s "$TOOL_ERRORS" ] || return 1
	{ echo "a tool failed, so the check could not run:"; cat "$TOOL_ERRORS"; } | put_result "$2" "$1" fail
	: >"$TOOL_ERRORS"
}

# files_read: how many files a check read (kdoc_files and kcocci_files note
# them), then forget them.
files_read() {
	sort -u "$TOOL_ERRORS.read" 2>/dev/null | grep -c . || true
	rm -f "$TOOL_ERRORS.read"
}

# canary CHECK: the tool of CHECK must find a known defect in a file made
# here, once per run; otherwise it is broken and every result of CHECK
# would be a silent pass.
declare -A canary_ok=()
canary() {
	local d out
	[ -z "${canary_ok[$1]:-}" ] || return 0
	d=$(mktemp -d "${TMPDIR:-/tmp}/ksa-canary.XXXXXX")
	case $1 in
	kernel-doc)
		printf '/**\n * ksa_canary() - a function whose parameter is not described\n */\nint ksa_canary(int x);\n' >"$d/canary.h"
		out=$(cd "$VT" && ./scripts/kernel-doc -none -Wall "$d/canary.h" 2>&1) || true
		grep -q "parameter 'x' not described" <<<"$out" ||
			echo "kernel-doc canary: no warning for an undescribed parameter: $(tail -n 2 <<<"$out")" >>"$TOOL_ERRORS"
		;;
	coccinelle)
		printf 'int ksa_canary(int x)\n{\n\tif (x) {\n\t\tx++;\n\t};\n\treturn x;\n}\n' >"$d/canary.c"
		out=$(spatch_report "$VT/scripts/coccinelle/misc/semicolon.cocci" "$d/canary.c")
		grep -q 'Unneeded semicolon' <<<"$out" ||
			echo "spatch canary: misc/semicolon.cocci does not find an unneeded semicolon: $out" >>"$TOOL_ERRORS"
		;;
	esac
	rm -rf "$d"
	canary_ok[$1]=1
}

# c_files_changed STEP: true if STEP changes a C file or header.
c_files_changed() { grep -qE '\.[ch]$' <<<"$(changed_files "$1")"; }

# --- the walk ---------------------------------------------------------------
if on build; then count_builds; fi
log "$n patches, steps $first-$last, architectures: ${build_arches[*]:-none}; $full_total full and $step_total incremental builds to run"
if on build; then
	for a in "${build_arches[@]}"; do
		{ have_result 0 "build-$a" && has_snapshots 0 "$a"; } || build_step 0 "$a"
	done
fi
# What the checks need of the base, while the tree is at the base: the
# project rules' findings in the whole tree and the installed headers.
# Later they would need a checkout of the base between two steps.
if [ "$first" = 1 ]; then
	if on coccinelle; then cocci_tree 0 >/dev/null; fi
	if on uapi; then
		for a in "${HEADER_ARCHES[@]}"; do install_headers 0 "$a" || true; done
	fi
	if on clients; then client_outputs 0; fi
	if on kconfig; then kconfig_base || true; fi
fi
# timed STEP CHECK FUNCTION: run the check unless it has a result, and keep
# its time next to the result.
timed() {
	local step=$1 c=$2 t0
	shift 2
	have_result "$step" "$c" && return
	t0=$(date +%s)
	"$@" "$step"
	echo $(($(date +%s) - t0)) >"$RES/${commits[$step]}/$c.secs"
}
for step in $(seq "$first" "$last"); do
	if on build; then
		tokens_before "$step"
		for a in "${build_arches[@]}"; do
			{ have_result "$step" "build-$a" && has_snapshots "$step" "$a"; } || build_step "$step" "$a"
		done
		if on disasm; then
			for a in "${build_arches[@]}"; do
				[ -z "${DISASM_PATHS[$a]:-}" ] || timed "$step" "disasm-$a" check_disasm "$a"
			done
		fi
		if on generated; then timed "$step" generated check_generated; fi
	fi
	progress "$step" "$n" "$(for c in checkpatch kernel-doc coccinelle uapi clients kconfig; do on "$c" && printf '%s ' "$c"; done)"
	if [ -n "$tier" ] && [ "$step" = "$n" ] && on sparse; then
		for a in "${build_arches[@]}"; do
			case $SPARSE_ARCHES in *" $a "*) timed "$step" "sparse-$a" check_sparse_tip "$a" ;; esac
		done
	fi
	for c in checkpatch:check_checkpatch kernel-doc:check_kerneldoc coccinelle:check_cocci cocci-kernel:check_kcocci uapi:check_headers clients:check_clients kconfig:check_kconfig; do
		on "${c%%:*}" || { [ "${c%%:*}" = cocci-kernel ] && on coccinelle; } || continue
		timed "$step" "${c%%:*}" "${c#*:}"
	done
done

# --- report -------------------------------------------------------------
checks=()
if on build; then for a in "${arches[@]}"; do checks+=("build-$a"); done; fi
if [ -n "$tier" ] && on sparse && [ "$last" = "$n" ]; then
	for a in "${arches[@]}"; do case $SPARSE_ARCHES in *" $a "*) checks+=("sparse-$a") ;; esac; done
fi
if on disasm; then for a in "${arches[@]}"; do [ -z "${DISASM_PATHS[$a]:-}" ] || checks+=("disasm-$a"); done; fi
if on generated && [[ " ${arches[*]} " == *" arm64 "* || " ${arches[*]} " == *" s390 "* ]]; then checks+=(generated); fi
for c in checkpatch kernel-doc coccinelle uapi clients kconfig; do
	on "$c" && checks+=("$c")
	[ "$c" != coccinelle ] || ! on coccinelle || checks+=(cocci-kernel)
done
if KSA_TIER=$tier KSA_TIP_ONLY="${tip_only[*]}" KSA_TIER_OUT="${tier_out[*]}" python3 - "$RES" "$report_dir" "$first" "$last" "${checks[*]}" "${commits[*]}" "${patches[*]}" <<'PY'
import json, os, sys
res, outdir, first, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
checks, commits, patches = sys.argv[5].split(), sys.argv[6].split(), sys.argv[7].split()
rows, first_fail = [], None
# Step 0 is the base: it only has builds, and a failure there is a problem
# of the configuration or the machine, not of a patch.
for step in [0] + list(range(first, last + 1)):
    name = "base" if step == 0 else patches[step - 1]
    row = {"step": step, "patch": name, "commit": commits[step], "checks": {}}
    for c in checks:
        f = os.path.join(res, commits[step], c)
        secs = sparse_cpu = None
        if step == 0 and not c.startswith("build-"):
            st, ev = "n/a", ""
        elif os.path.exists(f):
            lines = open(f).read().splitlines()
            st, ev = (lines[0] if lines else "fail"), "\n".join(lines[1:])
            try:
                secs = int(open(f + ".secs").read().strip())
            except (OSError, ValueError):
                secs = None
            try:
                sparse_cpu = int(open(f + ".sparse-secs").read().strip())
            except (OSError, ValueError):
                sparse_cpu = None
        elif os.path.exists(os.path.join(res, commits[step], c + ".log")):
            st, ev = "fail", "the check started but left no result (interrupted?): run again"
        else:
            st, ev = "n/a", "not affected by this step"
        row["checks"][c] = {"status": st, "evidence": ev, "seconds": secs}
        if sparse_cpu is not None:
            row["checks"][c]["sparse_cpu_seconds"] = sparse_cpu
        if st == "fail" and first_fail is None:
            first_fail = (step, c, ev)
    rows.append(row)
    row["seconds"] = sum(ch["seconds"] or 0 for ch in row["checks"].values())
mark = {"pass": "pass", "fail": "**FAIL**", "skip": "not checked", "same": "unchanged inputs", "n/a": "-"}
md = ["# verify-bisect report", "",
      "| step | patch | " + " | ".join(checks) + " | seconds |",
      "|---|---|" + "---|" * (len(checks) + 1)]
for r in rows:
    md.append("| %d | %s | " % (r["step"], r["patch"]) +
              " | ".join(mark.get(r["checks"][c]["status"], r["checks"][c]["status"]) for c in checks) +
              " | %d |" % r["seconds"])
md.append("")
md += ["## time per check (seconds, all steps of this report)", "",
       "| check | " + " | ".join(checks) + " |", "|---|" + "---|" * len(checks),
       "| seconds | " + " | ".join(str(sum(r["checks"][c]["seconds"] or 0 for r in rows)) for c in checks) + " |", ""]
for r in rows:
    for c in checks:
        ch = r["checks"][c]
        if ch["status"] in ("fail", "skip", "same"):
            md += ["## step %d %s: %s" % (r["step"], c, ch["status"]), "", "```", ch["evidence"][:4000], "```", ""]
counts = {}
for r in rows:
    for c in checks:
        counts[r["checks"][c]["status"]] = counts.get(r["checks"][c]["status"], 0) + 1
doc = {"steps": rows, "counts": counts, "seconds": sum(r["seconds"] for r in rows),
       "first_failure": None if first_fail is None else {"step": first_fail[0], "check": first_fail[1]}}
os.makedirs(outdir, exist_ok=True)
open(os.path.join(outdir, "report.md"), "w").write("\n".join(md) + "\n")
open(os.path.join(outdir, "report.json"), "w").write(json.dumps(doc, indent=1) + "\n")
print("\n".join(md[:len(rows) + 4]))
if first_fail:
    where = "the base itself (a configuration problem, not a patch)" if first_fail[0] == 0 else patches[first_fail[0] - 1]
    print("\nfirst failure: step %d (%s), %s:" % (first_fail[0], where, first_fail[1]))
    print("\n".join(first_fail[2].splitlines()[:20]))
if os.environ.get("KSA_TIER") == "ci":
    later = ["## not run at every step in this tier (--tier ci)", "",
             "- sparse on the files a step recompiles but does not change: once at the tip (sparse-ARCH, C=2); at every step: `scripts/verify-bisect.sh --arch arm64,s390 --only sparse`",
             "- the kernel's Coccinelle rules: once at the tip, on every C file the series changes (cocci-kernel); at every step: `scripts/verify-bisect.sh --only coccinelle`",
             "- QEMU's update-linux-headers.sh (the clients check runs kvmtool's at every step that touches what they read): on the base and the tip by the clients suite (`tests/runtime.sh --suite clients`); at every such step: `scripts/verify-bisect.sh --only clients`"]
    if os.environ.get("KSA_TIP_ONLY"):
        a = os.environ["KSA_TIP_ONLY"].split()
        later.append("- the %s builds: at the base and the tip only; at every step: `scripts/verify-bisect.sh --arch %s --only build`" % (", ".join(a), ",".join(a)))
    if os.environ.get("KSA_TIER_OUT"):
        a = os.environ["KSA_TIER_OUT"].split()
        later.append("- the %s builds: not in this tier (reported as not checked); at the base and every step: `scripts/verify-bisect.sh --arch %s --only build`" % (", ".join(a), ",".join(a)))
    later.append("- everything at every step: `scripts/verify-bisect.sh`")
    open(os.path.join(outdir, "report.md"), "a").write("\n".join(later) + "\n")
    print("\n" + "\n".join(later))
print("\n%d checks not run again because the step does not touch their inputs, %d not checked on this machine (both counted as skipped)"
      % (counts.get("same", 0), counts.get("skip", 0)))
print("verify-bisect: %d passed, %d failed, %d skipped" % (counts.get("pass", 0), counts.get("fail", 0), counts.get("skip", 0) + counts.get("same", 0)))
sys.exit(1 if first_fail else 0)
PY
then rc=0; else rc=$?; fi
log "report: $report_dir/report.md, $report_dir/report.json ($(elapsed))"
exit "$rc"
