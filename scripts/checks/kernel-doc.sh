# shellcheck shell=bash
# verify-bisect check: kernel-doc.
# Inputs: the C files and headers the step changes (else "same").
# Result: pass or fail (warnings new at the step); a canary must warn.
# Sourced by scripts/verify-bisect.sh, whose state (RES, commits, VT, the
# result store and the helpers) it uses: see the runner's "checks" comment.

# shellcheck disable=SC2317 # called through run_on_versions
kdoc_files() {
	local f out rc
	while read -r f; do
		case $f in *.c | *.h) [ -f "$f" ] || continue ;; *) continue ;; esac
		echo "$f" >>"$TOOL_ERRORS.read"
		rc=0
		out=$(./scripts/kernel-doc -none -Wall "$f" 2>&1) || rc=$?
		printf '%s\n' "$out" | grep -i 'warning' || true
		if grep -qiE 'Traceback|error:|No such file' <<<"$out"; then
			printf 'kernel-doc failed on %s (exit %s): %s\n' "$f" "$rc" "$(printf '%s' "$out" | tail -n 3)" >>"$TOOL_ERRORS"
		fi
	done
	return 0
}

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
