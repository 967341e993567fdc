# shellcheck shell=bash
# verify-bisect check: uapi (make headers_install against the base).
# Inputs: UAPI headers, header-install scripts, syscall tables, the top and
# architecture Makefiles (else "same").  Result: pass or fail (a header
# added where none is expected, removed, or with another ABI).
# Sourced by scripts/verify-bisect.sh, whose state (RES, commits, VT, the
# result store and the helpers) it uses: see the runner's "checks" comment.

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
