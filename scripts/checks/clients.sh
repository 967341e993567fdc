# shellcheck shell=bash
# verify-bisect check: clients (the header import scripts of two real VMMs,
# kvmtool's util/update_headers.sh and QEMU's scripts/update-linux-headers.sh
# from ../shared/clients/, run on the step's kernel tree; lib.sh).
# Inputs: what the scripts read (KSA_CLIENTS_INPUTS, lib.sh: what
# headers_install reads, the architectures' asm/kvm.h, COPYING and
# LICENSES/).  Result: pass when both scripts succeed and give the base's
# trees, file for file and byte for byte; fail otherwise, with the
# difference; not checked (never a pass) when a script fails on the base.
# --tier ci runs kvmtool's (a second) and leaves QEMU's (a headers_install
# for seven architectures, over a minute a tree) to the clients suite,
# which compares the base and the tip; the tier's report says so, with the
# command that runs it at every step.
# This catches what the installed headers do not show: a header moved in
# the source tree, an include added to a header that is copied alone, an
# architecture the script no longer finds.  The outputs are kept per
# commit where the clients suite (tests/runtime.sh) keeps them, so that
# the suite takes the base's and the tip's from there.
# Sourced by scripts/verify-bisect.sh, whose state (RES, commits, VT and
# the helpers) it uses: see the runner's "checks" comment.

# The scratch work tree of the base, while there is one (removed on exit:
# clients_cleanup, from the runner's EXIT trap).
CLIENTS_SCRATCH=

clients_cleanup() {
	[ -n "$CLIENTS_SCRATCH" ] || return 0
	vgit worktree remove --force "$CLIENTS_SCRATCH/linux" >/dev/null 2>&1 || true
	rm -rf "$CLIENTS_SCRATCH"
	vgit worktree prune >/dev/null 2>&1 || true
	CLIENTS_SCRATCH=
}

# client_outputs STEP: make both scripts' outputs for STEP where they are
# not kept yet, under the clients cache's lock (tests/runtime.sh holds it
# while it runs).  A step is read from the work tree, checked out there
# as the walk does; the base, once the walk has left it, from a scratch
# work tree, so that the work tree's files keep their times (the next
# build would compile again what a checkout there and back touches).
client_outputs() {
	local c=${commits[$1]} kind dir tree=''
	mkdir -p "$KSA_CLIENTS_CACHE"
	exec 8>"$KSA_CLIENTS_CACHE/.lock"
	flock -w 900 8 || die "$EX_ENV" "$KSA_CLIENTS_CACHE is locked by another tests/runtime.sh or verify-bisect.sh for 15 minutes"
	for kind in kvmtool $([ -n "${tier:-}" ] || echo qemu); do
		dir=$(client_headers_dir "$kind" "$c")
		[ -f "$dir/done" ] && continue
		if [ -z "$tree" ]; then
			if [ "$1" != 0 ] || [ "$(vgit rev-parse HEAD)" = "$c" ]; then
				checkout "$c"
				tree=$(realpath "$VT")
			else
				CLIENTS_SCRATCH=$(realpath -m "$(mktemp -d "${TMPDIR:-/tmp}/ksa-clients.XXXXXX")")
				vgit worktree prune >/dev/null 2>&1 || true
				vgit worktree add -q --detach "$CLIENTS_SCRATCH/linux" "$c" >/dev/null 2>&1 ||
					die "$EX_FAIL" "cannot make a scratch work tree of ${c:0:12} in $CLIENTS_SCRATCH"
				tree=$CLIENTS_SCRATCH/linux
			fi
		fi
		client_headers_make "$kind" "$tree" "$dir"
	done
	clients_cleanup
	exec 8>&-
}

# tree_diff BASE STEP: diff -r of two output trees, their paths shown as
# base/ and step/, the first 30 lines; true when they are the same.
tree_diff() {
	local n rc=0
	n=$(diff -r "$1" "$2" 2>&1) || rc=$?
	n=${n//"$1/"/base/}
	head -n 30 <<<"${n//"$2/"/step/}"
	return "$rc"
}

# check_clients STEP.
check_clients() {
	local step=$1 b s k q out='' sum='' bad=0 base_bad=0 n
	have_result "$step" clients && return
	if ! grep -qE "$KSA_CLIENTS_INPUTS" <<<"$(changed_files "$step")"; then
		echo "unchanged inputs: the step changes nothing the header scripts read (UAPI, what headers_install reads, an asm/kvm.h, COPYING, LICENSES)" | put_result "$step" clients same
		return
	fi
	client_outputs 0
	client_outputs "$step"
	b=$(client_headers_dir kvmtool "${commits[0]}") s=$(client_headers_dir kvmtool "${commits[$step]}")
	if [ "$(cat "$b/rc")" != 0 ]; then
		base_bad=1 sum+="kvmtool's fails on the base; "
		out+="kvmtool: util/update_headers.sh fails on the base (exit $(cat "$b/rc")): $(tail -n 2 "$b/log")"$'\n'
	elif [ "$(cat "$s/rc")" != 0 ]; then
		bad=1 sum+="kvmtool's fails; "
		out+="kvmtool: util/update_headers.sh fails at this step (exit $(cat "$s/rc")): $(tail -n 3 "$s/log")"$'\n'
	else
		k=$(find "$s/kvmtool" -type f -newer "$s/kvmtool/util/update_headers.sh" | wc -l)
		if n=$(tree_diff "$b/kvmtool" "$s/kvmtool"); then
			sum+="kvmtool's gives the base's tree ($k files copied); "
			out+="kvmtool: util/update_headers.sh gives the base's kvmtool tree ($k files copied into it)"$'\n'
		else
			bad=1 sum+="kvmtool's gives another tree; "
			out+="kvmtool: util/update_headers.sh gives another kvmtool tree than on the base:"$'\n'$n$'\n'
		fi
	fi
	b=$(client_headers_dir qemu "${commits[0]}") s=$(client_headers_dir qemu "${commits[$step]}")
	if [ -n "${tier:-}" ]; then
		sum+="QEMU's not run (--tier ci)"
		out+="QEMU: update-linux-headers.sh not run at this step in --tier ci (the clients suite compares the base and the tip; at every step: scripts/verify-bisect.sh --only clients)"$'\n'
	elif ! q=$(qemu_headers_ok "$b"); then
		base_bad=1 sum+="QEMU's fails on the base"
		out+="QEMU: update-linux-headers.sh fails on the base ($q): $(tail -n 2 "$b/log")"$'\n'
	elif ! q=$(qemu_headers_ok "$s"); then
		bad=1 sum+="QEMU's fails"
		out+="QEMU: update-linux-headers.sh fails at this step ($q): $(tail -n 3 "$s/log")"$'\n'
	else
		if n=$(tree_diff "$b/out" "$s/out"); then
			sum+="QEMU's gives the base's headers ($q files)"
			out+="QEMU: update-linux-headers.sh gives the base's headers ($q files)"$'\n'
		else
			bad=1 sum+="QEMU's gives other headers"
			out+="QEMU: update-linux-headers.sh gives other headers than on the base:"$'\n'$n$'\n'
		fi
	fi
	if [ "$bad" = 1 ]; then
		printf 'header scripts: %s\n%s' "$sum" "$out" | put_result "$step" clients fail
	elif [ "$base_bad" = 1 ]; then
		printf 'not checked: %s\n%s' "$sum" "$out" | put_result "$step" clients skip
	else
		printf 'header scripts: %s\n%s' "$sum" "$out" | put_result "$step" clients pass
	fi
}
