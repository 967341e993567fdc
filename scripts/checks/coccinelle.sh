# shellcheck shell=bash
# verify-bisect check: coccinelle (the project's rules in cocci/).
# Inputs: the C files and headers the step changes (else "same"); the whole
# tree at the base.  Result: pass or fail (findings new at the step).
# Sourced by scripts/verify-bisect.sh, whose state (RES, commits, VT, the
# result store and the helpers) it uses: see the runner's "checks" comment.

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
	local step=$1 before after nread new
	have_result "$step" coccinelle && return
	if ! c_files_changed "$step"; then
		echo "unchanged inputs: the step changes no C file or header" | put_result "$step" coccinelle same
		return
	fi
	canary coccinelle
	tool_errors coccinelle "$step" && return
	# One after the other: both check out commits in the same tree.
	before=$(cocci_tree $((step - 1)))
	after=$(cocci_tree "$step")
	nread=$(files_read)
	tool_errors coccinelle "$step" && return
	new=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed '/^$/d')
	if [ -n "$new" ]; then
		{ echo "new findings of the project's rules (cocci/):"; printf '%s\n' "$new"; } | put_result "$step" coccinelle fail
	else
		echo "the project's rules: no new findings ($(cocci_tree "$step" | wc -l) left in the tree; $nread changed files matched a rule's prefilter and were read)" | put_result "$step" coccinelle pass
	fi
}
