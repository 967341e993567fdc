# shellcheck shell=bash
# verify-bisect check: checkpatch.
# Inputs: the patch file.  Result: pass (summary line "total: 0 errors, 0
# warnings, 0 checks") or fail (what it found, or no summary line).
# Sourced by scripts/verify-bisect.sh, whose state (RES, commits, VT, the
# result store and the helpers) it uses: see the runner's "checks" comment.

# checkpatch_ignores FILE PATCH: the types FILE (checkpatch.ignore) ignores
# for the patch file PATCH, comma separated.  A line is "TYPE [SLUG]
# [# reason]": SLUG is a patch's file name without its "NNNN-" and
# ".patch"; without one, TYPE is ignored for every patch.
checkpatch_ignores() {
	local slug=${2##*/}
	slug=${slug#[0-9][0-9][0-9][0-9]-}
	slug=${slug%.patch}
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1" |
		awk -v slug="$slug" 'NF == 1 || $2 == slug {print $1}' | sort -u | paste -sd, -
}

check_checkpatch() {
	local step=$1 ignore out rc total
	have_result "$step" checkpatch && return
	local file=${patches[$((step - 1))]}
	ignore=$(checkpatch_ignores "$KSA_ROOT/checkpatch.ignore" "$file")
	checkout "${commits[$step]}"
	rc=0
	# Debian's python3 first: its SPDX check (scripts/spdxcheck.py, for new
	# files) needs python3-ply and python3-git, which a python3 of another
	# installation earlier in PATH (pyenv, for one) does not have.
	out=$(cd "$VT" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict --show-types \
		${ignore:+--ignore "$ignore"} "$KSA_ROOT/patches/$file" 2>&1) || rc=$?
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
