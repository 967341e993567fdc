# shellcheck shell=bash
# verify-bisect check: cocci-kernel (the kernel's rules, KERNEL_COCCI).
# Inputs: the C files the step changes (with --tier ci: at the tip, those
# the series changes, against the base; between: skip).  Result: pass or
# fail (findings new at the step).
# Sourced by scripts/verify-bisect.sh, whose state (RES, commits, VT, the
# result store and the helpers) it uses: see the runner's "checks" comment.

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

# The kernel's rules (KERNEL_COCCI) on the C files a step changes, before
# and after it; with --tier ci only at the tip, on every C file the series
# changes, against the base.
check_kcocci() {
	local step=$1 new nread sfiles='' i
	have_result "$step" cocci-kernel && return
	if [ -n "$tier" ] && [ "$step" != "$n" ]; then
		echo "not run at this step (--tier ci): the tip's run reads every C file the series changes; scripts/verify-bisect.sh --only coccinelle runs the kernel's rules at every step" |
			put_result "$step" cocci-kernel skip
		return
	fi
	if [ -n "$tier" ]; then
		sfiles=$(for i in $(seq 1 "$n"); do changed_files "$i"; done | grep -E '\.c$' | sort -u || true)
		if [ -z "$sfiles" ]; then
			echo "unchanged inputs: the series changes no C file" | put_result "$step" cocci-kernel same
			return
		fi
	elif ! grep -qE '\.c$' <<<"$(changed_files "$step")"; then
		echo "unchanged inputs: the step changes no C file" | put_result "$step" cocci-kernel same
		return
	fi
	canary coccinelle
	tool_errors cocci-kernel "$step" && return
	if [ -n "$tier" ]; then
		new=$(RV_FROM=0 RV_FILES=$sfiles run_on_versions "$step" kcocci_files)
	else
		new=$(run_on_versions "$step" kcocci_files)
	fi
	nread=$(files_read)
	tool_errors cocci-kernel "$step" && return
	if [ -n "$new" ]; then
		{ echo "new findings of the kernel's rules${tier:+ (the tip against the base)}:"; printf '%s\n' "$new"; } | put_result "$step" cocci-kernel fail
	else
		echo "the kernel's rules (${#KERNEL_COCCI[@]}): no new findings${tier:+ at the tip against the base} ($nread C files read)" | put_result "$step" cocci-kernel pass
	fi
}
