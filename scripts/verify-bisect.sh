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
       [--tip-only LIST] [--report DIR]

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
s390: only the expected headers may be added (linux/kvm-generic.h on x86_64
and arm64, the arm64 KVM UAPI on s390) and a changed header must keep its
ABI, compared by scripts/uapi-abi.sh (constants such as ioctl numbers, and
struct layouts, compiled for each architecture).  The x86_64, arm64 and s390
configurations build with CONFIG_UAPI_HEADER_TEST, so every installed header
must also compile on its own.

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
                   (implies build), checkpatch, kernel-doc, coccinelle, uapi
  --tip-only LIST  build these architectures (of riscv, powerpc, mips,
                   loongarch) at the base and the last step only, the
                   steps between reported as not checked with the command
                   that checks them (a tier for CI, see README)
  --report DIR     where report.md and report.json go
                   (default: build/verify-report)

A check whose inputs a step does not touch is not run again and is reported
as "unchanged inputs", not as passed: a build whose architecture reads none
of the step's files (Kbuild's own dependency files of the previous build
say which it reads; a changed Makefile, Kbuild, Kconfig or script always
counts), the headers check when no UAPI header or header-install file
changes, kernel-doc and Coccinelle when no C file or header (and no file a
project rule's prefilter matches) changes.  Every check that runs proves it
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
range=
only=
tip_only=()
report_dir=$KSA_ROOT/build/verify-report
while [ $# -gt 0 ]; do
	case $1 in
	--arch) [ $# -ge 2 ] || usage_error "--arch needs a list"; IFS=, read -r -a arches <<<"$2"; shift 2 ;;
	--patches) [ $# -ge 2 ] || usage_error "--patches needs N-M"; range=$2; shift 2 ;;
	--quick) only=build,checkpatch; shift ;;
	--only) [ $# -ge 2 ] || usage_error "--only needs a list of checks"; only=$2; shift 2 ;;
	--tip-only) [ $# -ge 2 ] || usage_error "--tip-only needs a list of architectures"; IFS=, read -r -a tip_only <<<"$2"; shift 2 ;;
	--report) [ $# -ge 2 ] || usage_error "--report needs a directory"; report_dir=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage_error "unknown argument '$1'" ;;
	esac
done
for a in "${arches[@]}" "${tip_only[@]}"; do
	case " ${ALL_ARCHES[*]} " in *" $a "*) ;; *) usage_error "unknown architecture '$a' (known: ${ALL_ARCHES[*]})" ;; esac
done
for a in "${tip_only[@]}"; do
	case " $ALWAYS_ARCHES " in *" $a "*) usage_error "--tip-only $a: x86_64, arm64 and s390 are built at every step" ;; esac
done
ALL_CHECKS="build sparse checkpatch kernel-doc coccinelle uapi"
declare -A want_check=()
for c in ${only//,/ }; do
	case " $ALL_CHECKS " in *" $c "*) want_check[$c]=1 ;; *) usage_error "--only: unknown check '$c' (known: $ALL_CHECKS)" ;; esac
done
if [ -z "$only" ]; then for c in $ALL_CHECKS; do want_check[$c]=1; done; fi
[ ${#want_check[@]} -gt 0 ] || usage_error "--only names no check (known: $ALL_CHECKS)"
[ -z "${want_check[sparse]:-}" ] || want_check[build]=1
on() { [ -n "${want_check[$1]:-}" ]; }
need_cmd git make gcc ccache:ccache python3 perl
on coccinelle && need_cmd spatch:coccinelle
on uapi && need_cmd pahole:dwarves
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
		cat "$KSA_ROOT"/configs/*.config "$KSA_ROOT/checkpatch.ignore" "$KSA_ROOT"/cocci/*.cocci
		echo "${KSA_KBUILD_FLAGS[*]}"
		printf '%s\n' "${KERNEL_COCCI[@]}"
		# Every architecture's compiler, whichever --arch names: a run on
		# some architectures shares the results of a run on all of them.
		for a in "${ALL_ARCHES[@]}"; do
			if p=$(cross_prefix "$a"); then "${p}gcc" --version | head -n 1; fi
		done
		[ -z "$SPARSE" ] || "$SPARSE" --version
		# The form of the results: 2 since sparse really runs.
		echo results=3
		spatch --version 2>/dev/null | head -n 1 || true
	} | sha256sum | cut -c1-16
)
RES=${KSA_VERIFY_RESULTS:-$KSA_ROOT/build/verify-results}/$checks_key
mkdir -p "$RES" "$report_dir"
# The UAPI results also depend on scripts/uapi-abi.sh: when it changes, only
# they are done again.
abi_hash=$(sha256sum "$KSA_ROOT/scripts/uapi-abi.sh" | cut -c1-16)
if [ "$(cat "$RES/uapi-abi.hash" 2>/dev/null)" != "$abi_hash" ]; then
	rm -f "$RES"/*/uapi
	echo "$abi_hash" >"$RES/uapi-abi.hash"
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
for a in "${arches[@]}"; do
	if cross_prefix "$a" >/dev/null; then
		build_arches+=("$a")
	elif [[ $ALWAYS_ARCHES == *" $a "* ]]; then
		die "$EX_ENV" "no compiler for $a, which every step needs: run scripts/setup.sh"
	else
		log "no Debian cross compiler for $a: its builds are reported as not checked"
		for i in 0 $(seq "$first" "$last"); do
			d=$RES/${commits[$i]}
			mkdir -p "$d"
			printf 'skip\nno Debian cross compiler for %s on this machine\n' "$a" >"$d/build-$a"
		done
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

# --- build checks ---------------------------------------------------------
# Full builds of the base and incremental builds of the steps are timed
# apart for the estimate of what is left.
full_total=0 full_done=0 full_secs=0
step_total=0 step_done=0 step_secs=0
count_builds() {
	local a i
	for a in "${build_arches[@]}"; do
		have_result 0 "build-$a" || full_total=$((full_total + 1))
		for i in $(seq "$first" "$last"); do
			[ "$i" = "$n" ] || [[ " ${tip_only[*]} " != *" $a "* ]] || continue
			have_result "$i" "build-$a" || step_total=$((step_total + 1))
		done
	done
	return 0
}

estimate() {
	local full_avg step_avg s
	[ $((full_done + step_done)) -gt 0 ] || { echo "unknown"; return; }
	full_avg=$((full_done > 0 ? full_secs / full_done : 0))
	# Until a step build is timed, guess a quarter of a full build.
	step_avg=$((step_done > 0 ? step_secs / step_done : full_avg / 4))
	s=$(((full_total - full_done) * full_avg + (step_total - step_done) * step_avg))
	printf '%d:%02d' $((s / 60)) $((s % 60))
}

# The sparse wrapper: Kbuild runs \$(CHECK) once per C file it compiles;
# the wrapper notes the file in \$KSA_SPARSE_LOG, then runs sparse, so that
# a build can show that sparse ran.
sparse_wrapper() {
	local w=$KSA_OUT/.ksa-sparse
	mkdir -p "$KSA_OUT"
	cat >"$w.tmp" <<'WRAP'
#!/bin/sh
# Written by verify-bisect.sh: note the C file, then run sparse.
eval "last=\${$#}"
case $last in *.c) printf '%s\n' "$last" >>"$KSA_SPARSE_LOG" ;; esac
exec "$KSA_SPARSE" "$@"
WRAP
	chmod +x "$w.tmp"
	mv "$w.tmp" "$w"
	printf '%s\n' "$w"
}

# c_objects_since OUT STAMP: the kernel objects compiled from C since STAMP
# (host programs, which sparse does not check, left out).
c_objects_since() {
	find "$1" -name '*.o' -newer "$2" -not -path '*/scripts/*' -not -path '*/tools/*' |
		while read -r o; do
			if grep -qs '^source_.*\.c$' "${o%/*}/.${o##*/}.cmd"; then echo "$o"; fi
		done | wc -l
}

# build_inputs OUT STEP ARCH: the source files (relative to the tree) that
# the build of ARCH at STEP read, from Kbuild's .cmd dependency files in OUT,
# kept as $RES/<commit>/build-ARCH.inputs.  Paths are cleaned of "." and
# ".." (virt/kvm/Makefile.kvm has arch/*/kvm/../../../virt/kvm/...).
build_inputs() {
	local out=$1 f=$RES/${commits[$2]}/build-$3.inputs
	find "$out" -name '.*.cmd' -print0 | xargs -0 -r cat |
		awk -v src="$(realpath "$VT")/" -v out="$(realpath "$out")/" '
			function clean(p,   n, i, k, part, outp) {
				n = split(p, part, "/"); k = 0
				for (i = 1; i <= n; i++) {
					if (part[i] == "" || part[i] == ".") continue
					if (part[i] == ".." && k > 0 && outp[k] != "..") { k--; continue }
					outp[++k] = part[i]
				}
				p = ""; for (i = 1; i <= k; i++) p = p (i > 1 ? "/" : "") outp[i]
				return p
			}
			# Absolute paths, or paths relative to the build directory
			# (ccache hands the compiler those: lib.sh kmake).
			{
				for (i = 1; i <= NF; i++) {
					t = $i
					if (substr(t, 1, 3) == "../") t = out t
					else if (substr(t, 1, 1) != "/") continue
					sub(/[):]+$/, "", t)
					t = "/" clean(t)
					if (index(t, src) == 1) print substr(t, length(src) + 1)
				}
			}' |
		sort -u >"$f.tmp"
	mv "$f.tmp" "$f"
}

# untouched_inputs ARCH STEP: true if the build of ARCH at STEP cannot differ
# from its build at the step before: that build passed (or was itself
# unchanged), it read none of the files STEP changes, STEP adds no file
# (a new header can shadow another one on the include path, a new UAPI
# header is installed and compiled), and no changed file belongs to the
# build system itself.  Prints the reason.
untouched_inputs() {
	local a=$1 step=$2 prev files f st
	[ "$step" != 0 ] || return 1
	prev=$RES/${commits[$((step - 1))]}/build-$a
	[ -s "$prev.inputs" ] || return 1
	st=$(head -n 1 "$prev" 2>/dev/null || true)
	[ "$st" = pass ] || [ "$st" = same ] || return 1
	[ -z "$(added_files "$step")" ] || return 1
	files=$(changed_files "$step")
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		case ${f##*/} in Makefile* | Kbuild* | Kconfig* | *.mk | *.lds* | *.sh | *.awk | *.pl | *.py) return 1 ;; esac
		case $f in scripts/* | tools/* | usr/*) return 1 ;; esac
		case $f in "arch/$a/"*) case $f in *.c | *.h) ;; *) return 1 ;; esac ;; esac
		grep -qxF "$f" "$prev.inputs" && return 1
	done <<<"$files"
	echo "unchanged inputs: the $a build of the step before reads none of the $(grep -c . <<<"$files") files this step changes"
}

build_step() {
	local step=$1 a=$2 out log t0 rc flags=() known new sparse=0 why nsparse nobj proof='' frags
	out=$KSA_OUT/$a-kvm
	log=$RES/${commits[$step]}/build-$a.log
	mkdir -p "${log%/*}"
	if [ "$step" != 0 ] && [ "$step" != "$n" ] && [[ " ${tip_only[*]} " == *" $a "* ]]; then
		printf 'not built at this step (--tip-only %s: built at the base and the tip); scripts/verify-bisect.sh --arch %s builds it at every step\n' "$a" "$a" |
			put_result "$step" "build-$a" skip
		return
	fi
	if why=$(untouched_inputs "$a" "$step"); then
		cp "$RES/${commits[$((step - 1))]}/build-$a.inputs" "$RES/${commits[$step]}/build-$a.inputs"
		echo "$why" | put_result "$step" "build-$a" same
		return
	fi
	on sparse && case $SPARSE_ARCHES in *" $a "*) sparse=1 ;; esac
	progress "$step" "$n" "build $a (W=1$([ "$sparse" = 1 ] && echo ", C=1")), $((full_done + step_done + 1)) of $((full_total + step_total)) builds, about $(estimate) left"
	checkout "${commits[$step]}"
	t0=$(date +%s)
	[ "$sparse" = 0 ] || flags+=(C=1 "CHECK=$(sparse_wrapper)")
	# The baseline is a full build, so that every file's warnings (and
	# sparse's) are known before the first patch.
	[ "$step" != 0 ] || rm -rf "$out"
	mapfile -t frags < <(arch_frags "$a")
	(kconfig_for "$VT" "$out" "$a" "${frags[@]}") >"$log" 2>&1 ||
		die "$EX_FAIL" "${frags[*]##*/} do not configure: $(tail -n 1 "$log")"
	rc=0
	touch "$out/.ksa-build-start"
	: >"$out/.ksa-sparse-files"
	{ kmake "$VT" "$out" "$a" olddefconfig && (kconfig_check "$out" "${frags[@]}") &&
		KSA_SPARSE=$SPARSE KSA_SPARSE_LOG=$out/.ksa-sparse-files kbuild "$VT" "$out" "$a" "${flags[@]}" all; } >>"$log" 2>&1 || rc=$?
	if [ "$step" = 0 ]; then
		full_secs=$((full_secs + $(date +%s) - t0)) full_done=$((full_done + 1))
	else
		step_secs=$((step_secs + $(date +%s) - t0)) step_done=$((step_done + 1))
	fi
	echo $(($(date +%s) - t0)) >"$RES/${commits[$step]}/build-$a.secs"
	normalize <"$log" >"$RES/${commits[$step]}/build-$a.warnings"
	if [ "$rc" != 0 ]; then
		{ grep -E -i -m 20 'error[: ]' "$log" || tail -n 20 "$log"; } | put_result "$step" "build-$a" fail
		return
	fi
	build_inputs "$out" "$step" "$a"
	if [ "$sparse" = 1 ]; then
		# Kbuild drops C=1 with only a warning when it does not accept the
		# checker: that is a failure here, and so is a build that compiled C
		# files without sparse seeing one.
		nsparse=$(sort -u "$out/.ksa-sparse-files" | grep -c . || true)
		nobj=$(c_objects_since "$out" "$out/.ksa-build-start")
		if grep -q 'is not available or not up to date' "$log" || { [ "$nobj" -gt 0 ] && [ "$nsparse" = 0 ]; }; then
			{ echo "sparse did not run ($nobj C objects compiled, sparse saw $nsparse files):"; grep -m 3 'C=1' "$log" || true; } |
				put_result "$step" "build-$a" fail
			return
		fi
		proof="; sparse checked $nsparse C files ($nobj objects compiled)"
	fi
	[ "$step" = 0 ] && { echo "baseline: $(wc -l <"$RES/${commits[$step]}/build-$a.warnings") warnings$proof" | put_result 0 "build-$a" pass; return; }
	known=$(known_warnings "build-$a" "$step")
	new=$(comm -13 <(printf '%s\n' "$known") "$RES/${commits[$step]}/build-$a.warnings")
	if [ -n "$new" ]; then
		{ echo "new warnings:"; printf '%s\n' "$new"; } | put_result "$step" "build-$a" fail
	else
		echo "no new warnings$proof" | put_result "$step" "build-$a" pass
	fi
}

# --- per-patch checks -----------------------------------------------------
check_checkpatch() {
	local step=$1 ignore out rc total
	have_result "$step" checkpatch && return
	ignore=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$KSA_ROOT/checkpatch.ignore" | awk '{print $1}' | paste -sd, -)
	checkout "${commits[$step]}"
	rc=0
	# Debian's python3 first: its SPDX check (scripts/spdxcheck.py, for new
	# files) needs python3-ply and python3-git, which a python3 of another
	# installation earlier in PATH (pyenv, for one) does not have.
	out=$(cd "$VT" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict --show-types \
		${ignore:+--ignore "$ignore"} "$KSA_ROOT/patches/${patches[$((step - 1))]}" 2>&1) || rc=$?
	if grep -q 'spdxcheck\.py' <<<"$out"; then
		out+=$'\n'"(checkpatch could not run scripts/spdxcheck.py: it needs python3-git, python3-ply and a git repository that GitPython does not take for a bare one; see fetch-base.sh: a bare repository given with --git-tree is one)"
	fi
	# Its summary line is the proof that it read the patch.
	total=$(grep -E '^total: [0-9]+ errors, [0-9]+ warnings, [0-9]+ checks, [0-9]+ lines checked$' <<<"$out" || true)
	if [ -z "$total" ]; then
		{ echo "checkpatch.pl (exit $rc) printed no summary line, so it did not check the patch:"; tail -n 20 <<<"$out"; } |
			put_result "$step" checkpatch fail
	elif [ "$rc" = 0 ] && [[ $total == "total: 0 errors, 0 warnings, 0 checks, "* ]] && ! grep -q spdxcheck <<<"$out"; then
		echo "clean ($total)" | put_result "$step" checkpatch pass
	else
		grep -vE '^(NOTE|$)|has no obvious style problems|ready for submission' <<<"$out" | put_result "$step" checkpatch fail
	fi
}

# run_on_versions STEP CMD: run CMD (reading file names on stdin, printing
# findings) on the files STEP changes, at the step before and at STEP, and
# print the findings that are new at STEP.
# The versions before the step are read from git into a scratch tree (with
# the work tree's scripts/), so that the work tree stays at STEP: checking
# out the step before and back would give the files of STEP new times, and
# the next step's builds would compile again what STEP changed.
run_on_versions() {
	local step=$1 before after files f old prev=${commits[$(($1 - 1))]}
	shift
	files=$(changed_files "$step")
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
trap 'rm -f "$TOOL_ERRORS"' EXIT

# shellcheck disable=SC2317 # called through run_on_versions
kdoc_files() {
	local f out rc
	while read -r f; do
		case $f in *.c | *.h) [ -f "$f" ] || continue ;; *) continue ;; esac
		echo "$f" >>"$TOOL_ERRORS.read"
		rc=0
		out=$(./scripts/kernel-doc -none -Wall "$f" 2>&1) || rc=$?
		printf '%s\n' "$out" | grep -i 'warning' || true
		if printf '%s\n' "$out" | grep -qiE 'Traceback|error:|No such file'; then
			printf 'kernel-doc failed on %s (exit %s): %s\n' "$f" "$rc" "$(printf '%s' "$out" | tail -n 3)" >>"$TOOL_ERRORS"
		fi
	done
	return 0
}

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
c_files_changed() { changed_files "$1" | grep -qE '\.[ch]$'; }

check_kerneldoc() {
	local step=$1 new nread
	have_result "$step" kernel-doc && return
	if ! c_files_changed "$step"; then
		echo "unchanged inputs: the step changes no C file or header" | put_result "$step" kernel-doc same
		return
	fi
	canary kernel-doc
	tool_errors kernel-doc "$step" && return
	new=$(run_on_versions "$step" kdoc_files)
	nread=$(files_read)
	tool_errors kernel-doc "$step" && return
	if [ -n "$new" ]; then
		{ echo "new kernel-doc warnings:"; printf '%s\n' "$new"; } | put_result "$step" kernel-doc fail
	else
		echo "no new kernel-doc warnings (read $nread file versions)" | put_result "$step" kernel-doc pass
	fi
}

# The kernel's rules on the changed C files, each rule run once on all of
# them.
# shellcheck disable=SC2317 # called through run_on_versions
kcocci_files() {
	local f r files=()
	while read -r f; do
		case $f in *.c) [ -f "$f" ] || continue ;; *) continue ;; esac
		echo "$f" >>"$TOOL_ERRORS.read"
		files+=("$f")
	done
	[ ${#files[@]} -gt 0 ] || return 0
	for r in "${KERNEL_COCCI[@]}"; do
		if [ ! -f "scripts/coccinelle/$r.cocci" ]; then
			echo "kernel rule $r.cocci is not in this tree" >>"$TOOL_ERRORS"
			continue
		fi
		spatch_report "scripts/coccinelle/$r.cocci" "${files[@]}" | sed "s|^|$r: |"
	done
	return 0
}

# pcocci_tree [FILE...]: the project's rules on every file of the tree that
# their prefilter picks (or only on those of the FILEs it picks), so that an
# invariant holds for the whole tree, not only for the changed files.
pcocci_tree() {
	local r pre files rc
	for r in "$KSA_ROOT"/cocci/*.cocci; do
		pre=$(sed -n 's|^// prefilter: ||p' "$r")
		if [ -z "$pre" ]; then
			echo "${r##*/} has no '// prefilter:' line" >>"$TOOL_ERRORS"
			continue
		fi
		rc=0
		if [ $# -gt 0 ]; then
			files=$(git grep -l -E "$pre" -- "$@") || rc=$?
		else
			files=$(git grep -l -E "$pre" -- '*.c' '*.h') || rc=$?
		fi
		[ "$rc" != 1 ] || continue # no file matches
		if [ "$rc" != 0 ]; then
			echo "git grep for the prefilter of ${r##*/} failed" >>"$TOOL_ERRORS"
			continue
		fi
		mapfile -t files <<<"$files"
		printf '%s\n' "${files[@]/#/${r##*/}:}" >>"$TOOL_ERRORS.read"
		spatch_report "$r" "${files[@]}" | sed "s|^|${r##*/}: |"
	done
	return 0
}

# spatch_report RULE FILE...: the rule's report lines; a failing spatch is
# a tool error.
spatch_report() {
	local rule=$1 out rc=0
	shift
	out=$(spatch --very-quiet -D report --no-show-diff --no-includes --include-headers \
		--sp-file "$rule" "$@" 2>"$TOOL_ERRORS.spatch") || rc=$?
	if [ "$rc" != 0 ]; then
		printf 'spatch %s failed (exit %s): %s\n' "${rule##*/}" "$rc" "$(tail -n 3 "$TOOL_ERRORS.spatch")" >>"$TOOL_ERRORS"
	fi
	rm -f "$TOOL_ERRORS.spatch"
	[ -z "$out" ] || printf '%s\n' "$out"
}

# cocci_tree STEP: the project's findings in the tree at STEP, cached.  The
# rules read one file at a time (--no-includes), so the tree's findings at a
# step are those of the step before, less those in the files the step
# changes, plus what the rules find in those files now: only the base is
# read whole.
cocci_tree() {
	local step=$1 f=$RES/${commits[$1]}/coccinelle.warnings prev changed
	if [ ! -f "$f" ]; then
		mkdir -p "${f%/*}"
		prev=
		[ "$step" = 0 ] || prev=$(cocci_tree $((step - 1)))
		checkout "${commits[$step]}"
		if [ "$step" = 0 ]; then
			(cd "$VT" && pcocci_tree) | normalize all >"$f.tmp"
		else
			mapfile -t changed < <(changed_files "$step" | grep -E '\.[ch]$' || true)
			{
				awk 'NR == FNR { c[$0] = 1; next } { p = $2; sub(/:$/, "", p); if (!(p in c)) print }' \
					<(printf '%s\n' "${changed[@]}") <(printf '%s\n' "$prev")
				if [ ${#changed[@]} -gt 0 ]; then (cd "$VT" && pcocci_tree "${changed[@]}") | normalize all; fi
			} | sed '/^$/d' | sort -u >"$f.tmp"
		fi
		mv "$f.tmp" "$f"
	fi
	cat "$f"
}

check_cocci() {
	local step=$1 new before after nread
	have_result "$step" coccinelle && return
	if ! c_files_changed "$step"; then
		echo "unchanged inputs: the step changes no C file or header" | put_result "$step" coccinelle same
		return
	fi
	canary coccinelle
	tool_errors coccinelle "$step" && return
	new=$(run_on_versions "$step" kcocci_files)
	# One after the other: both check out commits in the same tree.
	before=$(cocci_tree $((step - 1)))
	after=$(cocci_tree "$step")
	nread=$(files_read)
	tool_errors coccinelle "$step" && return
	new=$(printf '%s\n%s\n' "$new" "$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after"))" | sed '/^$/d')
	if [ -n "$new" ]; then
		{ echo "new findings:"; printf '%s\n' "$new"; } | put_result "$step" coccinelle fail
	else
		echo "no new findings ($(cocci_tree "$step" | wc -l) left in the tree; $nread files read)" | put_result "$step" coccinelle pass
	fi
}

# UAPI: the installed headers of each architecture against the base.
# Installed into DEST.tmp and renamed, so an interrupted install is redone.
install_headers() {
	local step=$1 a=$2 dest=$RES/${commits[$1]}/headers-$2
	[ -d "$dest/include" ] && return 0
	checkout "${commits[$step]}" || return 1
	rm -rf "$dest" "$dest.tmp"
	kmake "$VT" "$KSA_OUT/headers-$a" "$a" INSTALL_HDR_PATH="$dest.tmp" headers_install >/dev/null 2>&1 &&
		mv "$dest.tmp" "$dest"
}

# The installed headers of a step against the base's: a header may only be
# added where the series expects one (linux/kvm-generic.h on x86_64 and
# arm64, the arm64 KVM UAPI under arch/ on s390), none may go, and a changed
# header must keep its ABI (scripts/uapi-abi.sh: ioctl numbers and other
# constants, struct layouts, compiled for the architecture).
check_headers() {
	local step=$1 a diffs line rel dir old new changed bad='' abi msg rc counts=''
	have_result "$step" uapi && return
	# What make headers_install reads: the UAPI directories (headers and
	# their Kbuild files), usr/, the scripts that install and generate
	# headers, the syscall tables (unistd headers), the top and the
	# architecture Makefiles.
	if ! changed_files "$step" | grep -qE '(^|/)uapi/|^usr/|^scripts/(headers_install\.sh|Makefile\.|unifdef|syscall)|^arch/[^/]+/(Makefile$|tools/|kernel/syscalls/|entry/syscalls/)|^Makefile$'; then
		echo "unchanged inputs: the step changes no UAPI header, header-install script, syscall table or top or architecture Makefile" | put_result "$step" uapi same
		return
	fi
	for a in "${HEADER_ARCHES[@]}"; do
		if ! install_headers 0 "$a" || ! install_headers "$step" "$a"; then
			bad="$bad"$'\n'"$a: make headers_install failed"
			continue
		fi
		old=$RES/$base/headers-$a
		new=$RES/${commits[$step]}/headers-$a
		counts="$counts $a: $(find "$new/include" -type f | wc -l)"
		if [ "$(find "$old/include" -type f | wc -l)" = 0 ]; then
			bad="$bad"$'\n'"$a: make headers_install of the base installed no header"
			continue
		fi
		diffs=$(diff -rq "$old/include" "$new/include" 2>&1 || true)
		changed=()
		while IFS= read -r line; do
			[ -n "$line" ] || continue
			case $line in
			"Files $old/include/"*" differ")
				rel=${line#"Files $old/include/"}
				changed+=("${rel%% and *}")
				;;
			"Only in $new/include"*)
				rel=${line#"Only in $new/include"}
				dir=${rel#/}
				dir=${dir%%: *}
				rel=${dir:+$dir/}${line##*: }
				# A new directory is one line: check every file in it.
				while IFS= read -r rel; do
					case $a:$rel in
					x86_64:linux/kvm-generic.h | arm64:linux/kvm-generic.h) ;;
					s390:arch/arm64/*) ;;
					*) bad="$bad"$'\n'"$a: new installed header $rel" ;;
					esac
				done < <(cd "$new/include" && find "$rel" -type f)
				;;
			*)
				msg=${line//"$old/include/"/}
				bad="$bad"$'\n'"$a: ${msg//"$new/include/"/}"
				;;
			esac
		done <<<"$diffs"
		[ ${#changed[@]} -gt 0 ] || continue
		rc=0
		abi=$("$KSA_ROOT/scripts/uapi-abi.sh" --compare "$a" "$old" "$new" "${changed[@]}" 2>&1) || rc=$?
		case $rc in
		0) ;;
		1) bad="$bad"$'\n'"$a: the ABI of ${changed[*]} changed:"$'\n'"$(head -n 40 <<<"$abi")" ;;
		*) printf 'scripts/uapi-abi.sh failed for %s (exit %s): %s\n' "$a" "$rc" "$(tail -n 3 <<<"$abi")" >>"$TOOL_ERRORS" ;;
		esac
	done
	tool_errors uapi "$step" && return
	if [ -n "$bad" ]; then
		printf '%s\n' "${bad#$'\n'}" | put_result "$step" uapi fail
	else
		echo "installed headers as the base, same ABI (headers compared,$counts)" | put_result "$step" uapi pass
	fi
}

# --- the walk ---------------------------------------------------------------
if on build; then count_builds; fi
log "$n patches, steps $first-$last, architectures: ${build_arches[*]:-none}; $full_total full and $step_total incremental builds to run"
if on build; then
	for a in "${build_arches[@]}"; do
		have_result 0 "build-$a" || build_step 0 "$a"
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
		for a in "${build_arches[@]}"; do
			have_result "$step" "build-$a" || build_step "$step" "$a"
		done
	fi
	progress "$step" "$n" "$(for c in checkpatch kernel-doc coccinelle uapi; do on "$c" && printf '%s ' "$c"; done)"
	for c in checkpatch:check_checkpatch kernel-doc:check_kerneldoc coccinelle:check_cocci uapi:check_headers; do
		if on "${c%%:*}"; then timed "$step" "${c%%:*}" "${c#*:}"; fi
	done
done

# --- report -------------------------------------------------------------
checks=()
if on build; then for a in "${arches[@]}"; do checks+=("build-$a"); done; fi
for c in checkpatch kernel-doc coccinelle uapi; do on "$c" && checks+=("$c"); done
if python3 - "$RES" "$report_dir" "$first" "$last" "${checks[*]}" "${commits[*]}" "${patches[*]}" <<'PY'
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
        secs = None
        if step == 0 and not c.startswith("build-"):
            st, ev = "n/a", ""
        elif os.path.exists(f):
            lines = open(f).read().splitlines()
            st, ev = (lines[0] if lines else "fail"), "\n".join(lines[1:])
            try:
                secs = int(open(f + ".secs").read().strip())
            except (OSError, ValueError):
                secs = None
        elif os.path.exists(os.path.join(res, commits[step], c + ".log")):
            st, ev = "fail", "the check started but left no result (interrupted?): run again"
        else:
            st, ev = "n/a", "not affected by this step"
        row["checks"][c] = {"status": st, "evidence": ev, "seconds": secs}
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
print("\n%d checks not run again because the step does not touch their inputs, %d not checked on this machine (both counted as skipped)"
      % (counts.get("same", 0), counts.get("skip", 0)))
print("verify-bisect: %d passed, %d failed, %d skipped" % (counts.get("pass", 0), counts.get("fail", 0), counts.get("skip", 0) + counts.get("same", 0)))
sys.exit(1 if first_fail else 0)
PY
then rc=0; else rc=$?; fi
log "report: $report_dir/report.md, $report_dir/report.json ($(elapsed))"
exit "$rc"
