# shellcheck shell=bash
# verify-bisect check: clients (the header import scripts of two real VMMs,
# kvmtool's util/update_headers.sh and QEMU's scripts/update-linux-headers.sh
# from ../shared/clients/, run on the step's kernel tree; lib.sh).
# Inputs: what the scripts read: the UAPI directories, what headers_install
# reads (usr/, its scripts, the syscall tables, the top and architecture
# Makefiles), the architectures' asm/kvm.h (QEMU's script takes an
# architecture with one), COPYING and LICENSES/.  Result: pass when both
# scripts succeed and give the base's trees, file for file and byte for
# byte; fail otherwise, with the difference.  This catches what the
# installed headers do not show: a header moved in the source tree, an
# include added to a header that is copied alone, an architecture the
# script no longer finds.  The outputs are kept per commit where the
# clients suite (tests/runtime.sh) keeps them, so that each is made once.
# Sourced by scripts/verify-bisect.sh, whose state (RES, commits, VT and
# the helpers) it uses: see the runner's "checks" comment.

CLIENTS_INPUTS='(^|/)uapi/|^usr/|^scripts/(headers_install\.sh|Makefile\.|unifdef|syscall)|^arch/[^/]+/(Makefile$|tools/|kernel/syscalls/|entry/syscalls/|include/asm/kvm\.h$)|^Makefile$|^COPYING$|^LICENSES/'

# client_outputs STEP: make both scripts' outputs for STEP where they are
# not kept yet.  A commit other than the work tree's is read from a scratch
# work tree, so that the work tree's files keep their times (the next
# build would compile again what a checkout there and back touches).
client_outputs() {
	local c=${commits[$1]} kind dir tree='' tmp=''
	for kind in kvmtool qemu; do
		dir=$(client_headers_dir "$kind" "$c")
		[ -f "$dir/done" ] && continue
		if [ -z "$tree" ]; then
			if [ "$(vgit rev-parse HEAD)" = "$c" ]; then
				checkout "$c"
				tree=$(realpath "$VT")
			else
				tmp=$(mktemp -d "${TMPDIR:-/tmp}/ksa-clients.XXXXXX")
				vgit worktree add -q --detach "$tmp/linux" "$c" >/dev/null 2>&1 || die "$EX_FAIL" "cannot make a scratch work tree of ${c:0:12} in $tmp"
				tree=$tmp/linux
			fi
		fi
		client_headers_make "$kind" "$tree" "$dir"
	done
	if [ -n "$tmp" ]; then
		vgit worktree remove --force "$tmp/linux" >/dev/null 2>&1 || true
		rm -rf "$tmp"
	fi
}

# check_clients STEP.
check_clients() {
	local step=$1 b s out='' bad=0 n rc
	have_result "$step" clients && return
	if ! changed_files "$step" | grep -qE "$CLIENTS_INPUTS"; then
		echo "unchanged inputs: the step changes nothing the header scripts read (UAPI, what headers_install reads, an asm/kvm.h, COPYING, LICENSES)" | put_result "$step" clients same
		return
	fi
	client_outputs 0
	client_outputs "$step"
	b=$(client_headers_dir kvmtool "${commits[0]}") s=$(client_headers_dir kvmtool "${commits[$step]}")
	if [ "$(cat "$b/rc")" != 0 ]; then
		bad=1 out+="kvmtool: util/update_headers.sh fails on the base (exit $(cat "$b/rc")): $(tail -n 2 "$b/log")"$'\n'
	elif [ "$(cat "$s/rc")" != 0 ]; then
		bad=1 out+="kvmtool: util/update_headers.sh fails at this step (exit $(cat "$s/rc")): $(tail -n 3 "$s/log")"$'\n'
	else
		rc=0
		n=$(diff -r "$b/kvmtool" "$s/kvmtool" 2>&1) || rc=$?
		if [ "$rc" = 0 ]; then
			out+="kvmtool: util/update_headers.sh gives the base's kvmtool tree ($(find "$s/kvmtool" -type f | wc -l) files)"$'\n'
		else
			bad=1 out+="kvmtool: util/update_headers.sh gives another kvmtool tree than on the base:"$'\n'$(sed -e "s#$b/#base/#g" -e "s#$s/#step/#g" <<<"$n" | head -n 30)$'\n'
		fi
	fi
	b=$(client_headers_dir qemu "${commits[0]}") s=$(client_headers_dir qemu "${commits[$step]}")
	if ! n=$(qemu_headers_ok "$b"); then
		bad=1 out+="QEMU: update-linux-headers.sh fails on the base ($n): $(tail -n 2 "$b/log")"$'\n'
	elif ! n=$(qemu_headers_ok "$s"); then
		bad=1 out+="QEMU: update-linux-headers.sh fails at this step ($n): $(tail -n 3 "$s/log")"$'\n'
	else
		rc=0
		n=$(diff -r "$b/out" "$s/out" 2>&1) || rc=$?
		if [ "$rc" = 0 ]; then
			out+="QEMU: update-linux-headers.sh gives the base's headers ($(find "$s/out" -type f | wc -l) files)"$'\n'
		else
			bad=1 out+="QEMU: update-linux-headers.sh gives other headers than on the base:"$'\n'$(sed -e "s#$b/#base/#g" -e "s#$s/#step/#g" <<<"$n" | head -n 30)$'\n'
		fi
	fi
	if [ "$bad" = 1 ]; then
		printf '%s' "$out" | put_result "$step" clients fail
	else
		printf '%s' "$out" | put_result "$step" clients pass
	fi
}
