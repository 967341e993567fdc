# shellcheck shell=bash
# verify-bisect check: disasm (the machine code of the KVM objects, function
# by function, against the step before).
# Inputs: the step's build of the architecture (a step that did not build
# it is "same").  Result: pass when every function that differs from the
# build before is explained in disasm.explained for this patch, fail when
# one is not (or an explained one no longer differs).  Code only: data
# (tables in .rodata and .data) is not compared.
# Sourced by scripts/verify-bisect.sh, whose state (RES, commits, KSA_OUT
# and the helpers) it uses: see the runner's "checks" comment.

# The objects compared, per architecture: arm64's KVM and the generic KVM
# it builds (patches 4-13 claim no functional change there).
declare -A DISASM_PATHS=([arm64]="virt/kvm arch/arm64/kvm")
DISASM_EXPLAINED=$KSA_ROOT/disasm.explained

# linked_objects OUT PATH...: the objects under the PATHs (relative to the
# build directory OUT) that OUT's build links: the members of vmlinux.a
# and of each module of modules.order (its .mod file), both rewritten by
# every build, and, through each one's .cmd file, what a link or objcopy
# made it of (arm64's kvm_nvhe.o of the hyp objects).  Not every .o there:
# a build directory keeps the objects of files that a later commit no
# longer builds (a file moved elsewhere, the runtime suite's test objects).
# Fails when ar fails.
linked_objects() {
	local out=$1 m
	shift
	{
		if [ -f "$out/vmlinux.a" ]; then (cd "$out" && ar t vmlinux.a) || return; fi
		if [ -f "$out/modules.order" ]; then
			while IFS= read -r m; do
				[ ! -f "$out/${m%.o}.mod" ] || cat "$out/${m%.o}.mod"
			done <"$out/modules.order"
		fi
	} | python3 -c '
import os, sys
out, paths = sys.argv[1], [os.path.normpath(p) for p in sys.argv[2:]]
todo = [os.path.normpath(l.strip()) for l in sys.stdin if l.strip().endswith(".o")]
seen = set()
while todo:
    o = todo.pop()
    if o in seen:
        continue
    seen.add(o)
    try:
        line = open(os.path.join(out, os.path.dirname(o), "." + os.path.basename(o) + ".cmd")).readline()
    except OSError:
        continue
    if line.startswith("savedcmd_") and ":=" in line:
        todo += [os.path.normpath(t) for t in line.split(":=", 1)[1].split() if t.endswith(".o") and os.path.normpath(t) != o]
for o in sorted(seen):
    if any(o == p or o.startswith(p + "/") for p in paths) and os.path.isfile(os.path.join(out, o)):
        print(o)
' "$out" "$@"
}

# snapshot_objects STEP ARCH: keep the objects of DISASM_PATHS that the
# step's passing build links (linked_objects), which the next build
# overwrites, as $RES/<commit>/objs-ARCH (the paths kept; made as .tmp and
# renamed).
snapshot_objects() {
	local step=$1 a=$2 out=$KSA_OUT/$2-kvm dest list
	[ -n "${DISASM_PATHS[$a]:-}" ] && on disasm || return 0
	dest=$RES/${commits[$step]}/objs-$a
	rm -rf "$dest" "$dest.tmp"
	mkdir -p "$dest.tmp"
	# shellcheck disable=SC2086 # a list of paths
	list=$(linked_objects "$out" ${DISASM_PATHS[$a]}) || list=
	[ -z "$list" ] || (cd "$out" && xargs -d '\n' cp --parents -p -t "$dest.tmp") <<<"$list"
	# Made of the linked objects (snapshots of every .o, from before, are
	# made again).
	touch "$dest.tmp/.linked"
	mv "$dest.tmp" "$dest"
}

# has_snapshot STEP ARCH: true if ARCH keeps no objects, or STEP's build of
# it did not pass (nothing to compare), or its objects are kept.  A passing
# build without them (results from before the check existed) is built
# again, so that the comparisons have both sides.
has_snapshot() {
	[ -n "${DISASM_PATHS[$2]:-}" ] && on disasm || return 0
	[ "$(head -n 1 "$(result_file "$1" "build-$2")" 2>/dev/null)" = pass ] || return 0
	[ -f "$RES/${commits[$1]}/objs-$2/.linked" ]
}

# explained PATCH: the functions disasm.explained lists for PATCH (a patch
# file name), one a line.
explained() {
	[ -f "$DISASM_EXPLAINED" ] || return 0
	awk -F '\t' -v p="$1" '!/^#/ && NF >= 3 && $1 == p { print $2 }' "$DISASM_EXPLAINED" | LC_ALL=C sort -u
}

# check_disasm ARCH STEP (the argument order of timed).
check_disasm() {
	local a=$1 step=$2 c=disasm-$1 prev st out rc=0 diffs want unexplained stale old new d o side nall ndiff
	have_result "$step" "$c" && return
	st=$(head -n 1 "$(result_file "$step" "build-$a")" 2>/dev/null)
	case $st in
	same)
		echo "unchanged inputs: the step did not build $a again, so its objects are those of the step before" | put_result "$step" "$c" same
		return
		;;
	pass) ;;
	*)
		echo "not checked: the step's $a build did not pass (${st:-no result})" | put_result "$step" "$c" skip
		return
		;;
	esac
	# The step before whose build made the objects that this one replaced.
	prev=$(built_at $((step - 1)) "$a")
	if [ ! -d "$RES/${commits[$prev]}/objs-$a" ] || [ ! -d "$RES/${commits[$step]}/objs-$a" ]; then
		echo "not checked: no kept objects of step $prev or $step (their $a build did not pass)" | put_result "$step" "$c" skip
		return
	fi
	# Objects with the same bytes have the same code: only the others are
	# disassembled (linked into two scratch trees).
	old=$RES/${commits[$prev]}/objs-$a new=$RES/${commits[$step]}/objs-$a
	# A passing build links objects there: none kept means that finding
	# them failed, not that nothing changed.
	for side in "$old" "$new"; do
		if [ -z "$(find "$side" -name '*.o' -print -quit)" ]; then
			echo "no linked object of ${DISASM_PATHS[$a]} kept in ${side#"$RES"/} (vmlinux.a, modules.order: scripts/checks/disasm.sh linked_objects)" >>"$TOOL_ERRORS"
			tool_errors "$c" "$step"
			return
		fi
	done
	d=$(mktemp -d "${TMPDIR:-/tmp}/ksa-disasm.XXXXXX")
	nall=0 ndiff=0
	while IFS= read -r o; do
		nall=$((nall + 1))
		cmp -s "$old/$o" "$new/$o" && continue
		ndiff=$((ndiff + 1))
		for side in old new; do
			[ -f "${!side}/$o" ] || continue
			mkdir -p "$d/$side/${o%/*}"
			ln -s "${!side}/$o" "$d/$side/$o"
		done
	done < <({ (cd "$old" && find . -name '*.o'); (cd "$new" && find . -name '*.o'); } | sed 's|^\./||' | LC_ALL=C sort -u)
	if [ "$ndiff" = 0 ]; then
		out="compare-disasm: not needed, no object differs"
	else
		out=$("$KSA_ROOT/scripts/compare-disasm.py" --arch "$a" "$d/old" "$d/new" 2>&1) || rc=$?
	fi
	rm -rf "$d"
	case $rc in
	0 | 1) ;;
	*)
		printf 'scripts/compare-disasm.py failed (exit %s): %s\n' "$rc" "$(tail -n 3 <<<"$out")" >>"$TOOL_ERRORS"
		tool_errors "$c" "$step"
		return
		;;
	esac
	diffs=$(sed -nE 's/^(differs|gone|new) ([^ ]+).*/\2/p' <<<"$out" | LC_ALL=C sort -u)
	want=$(explained "${patches[$((step - 1))]}")
	unexplained=$(LC_ALL=C comm -23 <(printf '%s\n' "$diffs" | sed '/^$/d') <(printf '%s\n' "$want" | sed '/^$/d'))
	stale=$(LC_ALL=C comm -13 <(printf '%s\n' "$diffs" | sed '/^$/d') <(printf '%s\n' "$want" | sed '/^$/d'))
	if [ -n "$unexplained" ] || [ -n "$stale" ]; then
		{
			[ -z "$unexplained" ] || { echo "functions that differ from step $prev and disasm.explained does not explain for this patch:"; grep -F -f <(printf '%s\n' "$unexplained") <<<"$out"; }
			[ -z "$stale" ] || { echo "explained in disasm.explained for this patch but the same as at step $prev:"; printf '%s\n' "$stale"; }
			echo "$ndiff of $nall objects differ in their bytes; $(tail -n 1 <<<"$out")"
		} | put_result "$step" "$c" fail
	elif [ -n "$diffs" ]; then
		echo "$(grep -c . <<<"$diffs") functions differ from step $prev, each explained in disasm.explained; $ndiff of $nall objects differ in their bytes; $(tail -n 1 <<<"$out")" | put_result "$step" "$c" pass
	else
		echo "the same machine code as step $prev: $ndiff of $nall objects differ in their bytes, not in their code; $(tail -n 1 <<<"$out")" | put_result "$step" "$c" pass
	fi
}
