#!/usr/bin/env bash
# Walk the series patch by patch and check that every step builds and is
# clean, for every architecture the step can affect.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	cat <<USAGE
Usage: $KSA_PROG [--arch LIST] [--patches N-M] [--quick] [--report DIR]

Apply patches/ to the pinned base in the work tree build/verify and walk it
commit by commit.  At every step, for every configuration in the matrix that
the step affects, build incrementally with W=1 (and sparse, C=1, on s390 and
arm64) and compare the warnings with those of all earlier steps: a new one
fails the step.  Each patch also goes through checkpatch.pl --strict (minus
the reasoned ignores in checkpatch.ignore), kernel-doc on the files it
changes, the Coccinelle rules in cocci/ and a selection of the kernel's, and
a comparison of 'make headers_install' with the base for x86_64, arm64 and
s390: only the expected headers may be added (linux/kvm-generic.h on x86_64
and arm64, the arm64 KVM UAPI on s390) and a changed header must keep its
ABI, compared by scripts/uapi-abi.sh (constants such as ioctl numbers, and
struct layouts, compiled for each architecture).  The x86_64, arm64 and s390
configurations build with CONFIG_UAPI_HEADER_TEST, so every installed header
must also compile on its own.

The matrix (configs/*.config on top of tinyconfig):
  x86_64-kvm, arm64-kvm, s390-kvm   every step
  riscv-kvm, powerpc-kvm, mips-kvm, loongarch-kvm
                                    steps that touch generic KVM or arch/ARCH;
                                    an architecture without a Debian cross
                                    compiler is reported as not checked

  --arch LIST      only these architectures (comma separated)
  --patches N-M    only steps N to M (1-based; the base is always the
                   baseline for warnings)
  --quick          builds only (no sparse, kernel-doc, Coccinelle, headers)
  --report DIR     where report.md and report.json go
                   (default: build/verify-report)

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
quick=0
report_dir=$KSA_ROOT/build/verify-report
while [ $# -gt 0 ]; do
	case $1 in
	--arch) [ $# -ge 2 ] || usage_error "--arch needs a list"; IFS=, read -r -a arches <<<"$2"; shift 2 ;;
	--patches) [ $# -ge 2 ] || usage_error "--patches needs N-M"; range=$2; shift 2 ;;
	--quick) quick=1; shift ;;
	--report) [ $# -ge 2 ] || usage_error "--report needs a directory"; report_dir=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage_error "unknown argument '$1'" ;;
	esac
done
for a in "${arches[@]}"; do
	case " ${ALL_ARCHES[*]} " in *" $a "*) ;; *) usage_error "unknown architecture '$a' (known: ${ALL_ARCHES[*]})" ;; esac
done
need_cmd git make gcc ccache:ccache python3 perl
[ "$quick" = 1 ] || need_cmd sparse spatch:coccinelle pahole:dwarves

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

base_out=$("$KSA_ROOT/scripts/fetch-base.sh")
base_gitdir=$(sed -n 1p <<<"$base_out")
base=$(sed -n 2p <<<"$base_out")

VT=${KSA_VERIFY_TREE:-$KSA_ROOT/build/verify}
# Results depend on the commit and on how it was checked: the mode, the
# config fragments, the rules, the ignore list and the compilers.
checks_key=$(
	{
		echo "quick=$quick"
		cat "$KSA_ROOT"/configs/*.config "$KSA_ROOT/checkpatch.ignore" "$KSA_ROOT"/cocci/*.cocci
		printf '%s\n' "${KERNEL_COCCI[@]}"
		for a in "${arches[@]}"; do
			if p=$(cross_prefix "$a"); then "${p}gcc" --version | head -n 1; fi
		done
		sparse --version 2>/dev/null || true
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
# git am with the committer date taken from the author date makes the
# commit ids depend only on the patches, so results can be keyed by them.
progress 0 "$n" "applying the series in $VT"
if ! is_git_work_tree "$VT"; then
	git --git-dir="$base_gitdir" worktree prune
	git --git-dir="$base_gitdir" worktree add -q -f --detach "$VT" "$base"
fi
vgit am --abort >/dev/null 2>&1 || true
vgit checkout -q -f --detach "$base"
commits=("$base")
for i in $(seq 1 "$n"); do
	if ! vgit am -q -3 --committer-date-is-author-date "$KSA_ROOT/patches/${patches[$((i - 1))]}" >/dev/null 2>&1; then
		vgit am --abort >/dev/null 2>&1 || true
		die "$EX_FAIL" "step $i: patches/${patches[$((i - 1))]} does not apply: run scripts/apply.sh to see the conflict"
	fi
	commits+=("$(vgit rev-parse HEAD)")
done
current=${commits[$n]}

checkout() {
	[ "$current" = "$1" ] && return 0
	vgit checkout -q -f --detach "$1"
	current=$1
}

# --- what each step affects -----------------------------------------------
changed_files() { vgit diff --name-only "${commits[$(($1 - 1))]}" "${commits[$1]}"; }

# arch_needed ARCH STEP: true if STEP (1-based) must be built for ARCH.
arch_needed() {
	local files
	case $ALWAYS_ARCHES in *" $1 "*) return 0 ;; esac
	files=$(changed_files "$2") || die "$EX_FAIL" "git diff of step $2 failed in $VT"
	grep -qE "^(virt/kvm/|include/linux/kvm|include/kvm/|include/uapi/linux/kvm|arch/$1/)" <<<"$files"
}

declare -A needed=()
for a in "${arches[@]}"; do
	for i in $(seq "$first" "$last"); do
		if arch_needed "$a" "$i"; then needed[$a]=1; break; fi
	done
done
build_arches=()
for a in "${arches[@]}"; do
	[ -n "${needed[$a]:-}" ] || continue
	if cross_prefix "$a" >/dev/null; then
		build_arches+=("$a")
	elif [[ $ALWAYS_ARCHES == *" $a "* ]]; then
		die "$EX_ENV" "no compiler for $a, which every step needs: run scripts/setup.sh"
	else
		log "no Debian cross compiler for $a: its builds are reported as not checked"
		for i in $(seq "$first" "$last"); do
			arch_needed "$a" "$i" || continue
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
normalize() {
	local keep='/(warning|error)[: ]/I'
	[ "${1:-}" = all ] && keep='/./'
	sed -n -E -e "s#$VT/##g" -e "s#$KSA_OUT/[^/ ]*/##g" \
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
			arch_needed "$a" "$i" && ! have_result "$i" "build-$a" && step_total=$((step_total + 1))
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

build_step() {
	local step=$1 a=$2 out log t0 rc flags=(W=1) known new
	out=$KSA_OUT/$a-kvm
	log=$RES/${commits[$step]}/build-$a.log
	mkdir -p "${log%/*}"
	progress "$step" "$n" "build $a (W=1$([ "$quick" = 0 ] && case $SPARSE_ARCHES in *" $a "*) echo ", C=1" ;; esac)), $((full_done + step_done + 1)) of $((full_total + step_total)) builds, about $(estimate) left"
	checkout "${commits[$step]}"
	t0=$(date +%s)
	[ "$quick" = 0 ] && case $SPARSE_ARCHES in *" $a "*) flags+=(C=1) ;; esac
	# The baseline is a full build, so that every file's warnings (and
	# sparse's) are known before the first patch.
	[ "$step" != 0 ] || rm -rf "$out"
	if [ ! -f "$out/.ksa-configured" ] || [ "$KSA_ROOT/configs/$a-kvm.config" -nt "$out/.ksa-configured" ]; then
		rm -f "$out/.ksa-configured"
		(kconfig "$VT" "$out" "$a" "$KSA_ROOT/configs/$a-kvm.config") >"$log" 2>&1 ||
			die "$EX_FAIL" "configs/$a-kvm.config does not configure: $(tail -n 1 "$log")"
		touch "$out/.ksa-configured"
	fi
	rc=0
	{ kmake "$VT" "$out" "$a" olddefconfig && (kconfig_check "$out" "$KSA_ROOT/configs/$a-kvm.config") &&
		kmake "$VT" "$out" "$a" "${flags[@]}" all; } >>"$log" 2>&1 || rc=$?
	if [ "$step" = 0 ]; then
		full_secs=$((full_secs + $(date +%s) - t0)) full_done=$((full_done + 1))
	else
		step_secs=$((step_secs + $(date +%s) - t0)) step_done=$((step_done + 1))
	fi
	normalize <"$log" >"$RES/${commits[$step]}/build-$a.warnings"
	if [ "$rc" != 0 ]; then
		{ grep -E -i -m 20 'error[: ]' "$log" || tail -n 20 "$log"; } | put_result "$step" "build-$a" fail
		return
	fi
	[ "$step" = 0 ] && { echo "baseline: $(wc -l <"$RES/${commits[$step]}/build-$a.warnings") warnings" | put_result 0 "build-$a" pass; return; }
	known=$(known_warnings "build-$a" "$step")
	new=$(comm -13 <(printf '%s\n' "$known") "$RES/${commits[$step]}/build-$a.warnings")
	if [ -n "$new" ]; then
		{ echo "new warnings:"; printf '%s\n' "$new"; } | put_result "$step" "build-$a" fail
	else
		echo "no new warnings" | put_result "$step" "build-$a" pass
	fi
}

# --- per-patch checks -----------------------------------------------------
check_checkpatch() {
	local step=$1 ignore out rc
	have_result "$step" checkpatch && return
	ignore=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$KSA_ROOT/checkpatch.ignore" | awk '{print $1}' | paste -sd, -)
	checkout "${commits[$step]}"
	rc=0
	# Debian's python3 first: its SPDX check (scripts/spdxcheck.py, for new
	# files) needs python3-ply and python3-git, which a python3 of another
	# installation earlier in PATH (pyenv, for one) does not have.
	out=$(cd "$VT" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict --no-summary --terse --show-types \
		${ignore:+--ignore "$ignore"} "$KSA_ROOT/patches/${patches[$((step - 1))]}" 2>&1) || rc=$?
	[ "$rc" = 0 ] || [ -n "$out" ] || out="checkpatch.pl exited with $rc and printed nothing"
	if grep -q 'spdxcheck\.py' <<<"$out"; then
		out+=$'\n'"(checkpatch could not run scripts/spdxcheck.py: it needs python3-git, python3-ply and a git repository that GitPython does not take for a bare one; see fetch-base.sh: a bare repository given with --git-tree is one)"
	fi
	if [ -n "$out" ]; then
		printf '%s\n' "$out" | put_result "$step" checkpatch fail
	else
		echo "clean" | put_result "$step" checkpatch pass
	fi
}

# run_on_versions STEP CMD: run CMD (reading file names on stdin, printing
# findings) on the files STEP changes, at the step before and at STEP, and
# print the findings that are new at STEP.
run_on_versions() {
	local step=$1 before after files
	shift
	files=$(changed_files "$step")
	checkout "${commits[$((step - 1))]}"
	before=$(printf '%s\n' "$files" | (cd "$VT" && "$@") | normalize all)
	checkout "${commits[$step]}"
	after=$(printf '%s\n' "$files" | (cd "$VT" && "$@") | normalize all)
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

check_kerneldoc() {
	local step=$1 new
	have_result "$step" kernel-doc && return
	new=$(run_on_versions "$step" kdoc_files)
	tool_errors kernel-doc "$step" && return
	if [ -n "$new" ]; then
		{ echo "new kernel-doc warnings:"; printf '%s\n' "$new"; } | put_result "$step" kernel-doc fail
	else
		echo "no new kernel-doc warnings" | put_result "$step" kernel-doc pass
	fi
}

# The kernel's rules on the changed C files.
# shellcheck disable=SC2317 # called through run_on_versions
kcocci_files() {
	local f r
	while read -r f; do
		case $f in *.c) [ -f "$f" ] || continue ;; *) continue ;; esac
		for r in "${KERNEL_COCCI[@]}"; do
			if [ ! -f "scripts/coccinelle/$r.cocci" ]; then
				echo "kernel rule $r.cocci is not in this tree" >>"$TOOL_ERRORS"
				continue
			fi
			spatch_report "scripts/coccinelle/$r.cocci" "$f" | sed "s|^|$r: |"
		done
	done
	return 0
}

# The project's rules on every file of the tree that their prefilter picks,
# so that an invariant holds for the whole tree, not only the changed files.
pcocci_tree() {
	local r pre files rc
	for r in "$KSA_ROOT"/cocci/*.cocci; do
		pre=$(sed -n 's|^// prefilter: ||p' "$r")
		if [ -z "$pre" ]; then
			echo "${r##*/} has no '// prefilter:' line" >>"$TOOL_ERRORS"
			continue
		fi
		rc=0
		files=$(git grep -l -E "$pre" -- '*.c' '*.h') || rc=$?
		[ "$rc" != 1 ] || continue # no file matches
		if [ "$rc" != 0 ]; then
			echo "git grep for the prefilter of ${r##*/} failed" >>"$TOOL_ERRORS"
			continue
		fi
		mapfile -t files <<<"$files"
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

# cocci_tree STEP: the project's findings in the tree at STEP, cached.
cocci_tree() {
	local f=$RES/${commits[$1]}/coccinelle.warnings
	if [ ! -f "$f" ]; then
		mkdir -p "${f%/*}"
		checkout "${commits[$1]}"
		(cd "$VT" && pcocci_tree) | normalize all >"$f.tmp"
		mv "$f.tmp" "$f"
	fi
	cat "$f"
}

check_cocci() {
	local step=$1 new before after
	have_result "$step" coccinelle && return
	new=$(run_on_versions "$step" kcocci_files)
	# One after the other: both check out commits in the same tree.
	before=$(cocci_tree $((step - 1)))
	after=$(cocci_tree "$step")
	tool_errors coccinelle "$step" && return
	new=$(printf '%s\n%s\n' "$new" "$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after"))" | sed '/^$/d')
	if [ -n "$new" ]; then
		{ echo "new findings:"; printf '%s\n' "$new"; } | put_result "$step" coccinelle fail
	else
		echo "no new findings ($(cocci_tree "$step" | wc -l) left in the tree)" | put_result "$step" coccinelle pass
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
	local step=$1 a diffs line rel dir old new changed bad='' abi msg rc
	have_result "$step" uapi && return
	for a in "${HEADER_ARCHES[@]}"; do
		if ! install_headers 0 "$a" || ! install_headers "$step" "$a"; then
			bad="$bad"$'\n'"$a: make headers_install failed"
			continue
		fi
		old=$RES/$base/headers-$a
		new=$RES/${commits[$step]}/headers-$a
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
		echo "installed headers as the base, same ABI (x86_64, arm64, s390)" | put_result "$step" uapi pass
	fi
}

# --- the walk ---------------------------------------------------------------
count_builds
log "$n patches, steps $first-$last, architectures: ${build_arches[*]:-none}; $full_total full and $step_total incremental builds to run"
for a in "${build_arches[@]}"; do
	have_result 0 "build-$a" || build_step 0 "$a"
done
for step in $(seq "$first" "$last"); do
	for a in "${build_arches[@]}"; do
		arch_needed "$a" "$step" || continue
		have_result "$step" "build-$a" || build_step "$step" "$a"
	done
	progress "$step" "$n" "checkpatch$([ "$quick" = 0 ] && echo ", kernel-doc, Coccinelle, headers")"
	check_checkpatch "$step"
	if [ "$quick" = 0 ]; then
		check_kerneldoc "$step"
		check_cocci "$step"
		check_headers "$step"
	fi
done

# --- report -------------------------------------------------------------
checks=()
for a in "${arches[@]}"; do checks+=("build-$a"); done
checks+=(checkpatch)
[ "$quick" = 1 ] || checks+=(kernel-doc coccinelle uapi)
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
        if step == 0 and not c.startswith("build-"):
            st, ev = "n/a", ""
        elif os.path.exists(f):
            lines = open(f).read().splitlines()
            st, ev = (lines[0] if lines else "fail"), "\n".join(lines[1:])
        elif os.path.exists(os.path.join(res, commits[step], c + ".log")):
            st, ev = "fail", "the check started but left no result (interrupted?): run again"
        else:
            st, ev = "n/a", "not affected by this step"
        row["checks"][c] = {"status": st, "evidence": ev}
        if st == "fail" and first_fail is None:
            first_fail = (step, c, ev)
    rows.append(row)
mark = {"pass": "pass", "fail": "**FAIL**", "skip": "not checked", "n/a": "-"}
md = ["# verify-bisect report", "",
      "| step | patch | " + " | ".join(checks) + " |",
      "|---|---|" + "---|" * len(checks)]
for r in rows:
    md.append("| %d | %s | " % (r["step"], r["patch"]) +
              " | ".join(mark.get(r["checks"][c]["status"], r["checks"][c]["status"]) for c in checks) + " |")
md.append("")
for r in rows:
    for c in checks:
        ch = r["checks"][c]
        if ch["status"] in ("fail", "skip"):
            md += ["## step %d %s: %s" % (r["step"], c, ch["status"]), "", "```", ch["evidence"][:4000], "```", ""]
counts = {}
for r in rows:
    for c in checks:
        counts[r["checks"][c]["status"]] = counts.get(r["checks"][c]["status"], 0) + 1
doc = {"steps": rows, "counts": counts,
       "first_failure": None if first_fail is None else {"step": first_fail[0], "check": first_fail[1]}}
os.makedirs(outdir, exist_ok=True)
open(os.path.join(outdir, "report.md"), "w").write("\n".join(md) + "\n")
open(os.path.join(outdir, "report.json"), "w").write(json.dumps(doc, indent=1) + "\n")
print("\n".join(md[:len(rows) + 4]))
if first_fail:
    where = "the base itself (a configuration problem, not a patch)" if first_fail[0] == 0 else patches[first_fail[0] - 1]
    print("\nfirst failure: step %d (%s), %s:" % (first_fail[0], where, first_fail[1]))
    print("\n".join(first_fail[2].splitlines()[:20]))
print("\nverify-bisect: %d passed, %d failed, %d skipped" % (counts.get("pass", 0), counts.get("fail", 0), counts.get("skip", 0)))
sys.exit(1 if first_fail else 0)
PY
then rc=0; else rc=$?; fi
log "report: $report_dir/report.md, $report_dir/report.json ($(elapsed))"
exit "$rc"
