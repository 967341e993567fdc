# shellcheck shell=bash
# verify-bisect check: uapi (make headers_install against the base).
# Inputs: UAPI headers, header-install scripts, syscall tables, the top and
# architecture Makefiles (else "same").  Result: pass or fail (a header
# added, removed or changed: s390 may add only arch/arm64/, which must be
# arm64's UAPI with arm64's ABI).
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

# foreign_uapi ARM64-DIR S390-DIR: what s390 installs under arch/arm64/ is
# arm64's UAPI and nothing more (arm64 stays its source, s390 may not add to
# it).  Every file but asm/foreign.h is the same step's arm64 header of its
# name with arch/arm64/tools/gen-foreign-uapi.sh's rewrites and no other
# change; asm/foreign.h adds no constant and no struct to <linux/types.h>;
# and compiled for s390 the copies give the constants and struct layouts of
# arm64's headers compiled for arm64 (on s390x a 128-bit integer is aligned
# to 8 bytes, not 16).  Prints "\ns390: ..." lines for what is wrong.
foreign_uapi() {
	local arm=$1/include s390=$2/include rel copies=() natives=() abi rc d
	d=$(mktemp -d "${TMPDIR:-/tmp}/ksa-foreign.XXXXXX")
	while IFS= read -r rel; do
		case $rel in
		asm/foreign.h) continue ;;
		asm/*.h) ;;
		*)
			printf '\ns390: arch/arm64/%s is not an arm64 asm/ header' "$rel"
			continue
			;;
		esac
		if [ ! -f "$arm/$rel" ]; then
			printf '\ns390: arch/arm64/%s: arm64 installs no %s (s390 may not add to the arm64 UAPI)' "$rel" "$rel"
			continue
		fi
		sed -E 's@^(#[[:space:]]*include[[:space:]]*<)arch/arm64/asm/foreign\.h>@\1linux/types.h>@
			s@^(#[[:space:]]*include[[:space:]]*<)arch/arm64/(asm/[^>]*>)@\1\2@
			s/(^|[^A-Za-z0-9_])__arm64_uint128_t([^A-Za-z0-9_]|$)/\1__uint128_t\2/g' "$s390/arch/arm64/$rel" >"$d/undone"
		if ! cmp -s "$d/undone" "$arm/$rel"; then
			printf '\ns390: arch/arm64/%s is not arm64'"'"'s %s with the rewrites of gen-foreign-uapi.sh:\n%s' "$rel" "$rel" \
				"$(diff -u --label "arm64/$rel" --label "s390/arch/arm64/$rel, rewrites undone" "$arm/$rel" "$d/undone" | head -n 20)"
		fi
		copies+=("arch/arm64/$rel")
		natives+=("$rel")
	done < <(cd "$s390/arch/arm64" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
	if [ -f "$s390/arch/arm64/asm/foreign.h" ]; then
		rc=0
		{ "$KSA_ROOT/scripts/uapi-abi.sh" s390 "$2" linux/types.h >"$d/types" &&
			"$KSA_ROOT/scripts/uapi-abi.sh" s390 "$2" arch/arm64/asm/foreign.h >"$d/foreign"; } 2>"$d/err" || rc=$?
		if [ "$rc" != 0 ]; then
			printf 'scripts/uapi-abi.sh failed for s390 arch/arm64/asm/foreign.h (exit %s): %s\n' "$rc" "$(tail -n 3 "$d/err")" >>"$TOOL_ERRORS"
		elif ! cmp -s "$d/types" "$d/foreign"; then
			printf '\ns390: arch/arm64/asm/foreign.h adds constants or structs to <linux/types.h>:\n%s' \
				"$(diff -u --label linux/types.h --label arch/arm64/asm/foreign.h "$d/types" "$d/foreign" | head -n 20)"
		fi
	fi
	if [ ${#copies[@]} -gt 0 ]; then
		rc=0
		{ "$KSA_ROOT/scripts/uapi-abi.sh" arm64 "$1" "${natives[@]}" >"$d/arm64" &&
			"$KSA_ROOT/scripts/uapi-abi.sh" s390 "$2" "${copies[@]}" >"$d/s390"; } 2>"$d/err" || rc=$?
		if [ "$rc" != 0 ]; then
			printf 'scripts/uapi-abi.sh failed for the arm64 UAPI on s390 (exit %s): %s\n' "$rc" "$(tail -n 3 "$d/err")" >>"$TOOL_ERRORS"
		else
			abi=$(diff -u --label "arm64: ${natives[*]}" --label "s390: ${copies[*]}" "$d/arm64" "$d/s390") ||
				printf '\ns390: the arm64 UAPI compiled for s390 has another ABI than on arm64:\n%s' "$(head -n 40 <<<"$abi")"
		fi
	fi
	rm -rf "$d"
}

# The installed headers of a step against the base's, byte for byte: on
# x86_64 and arm64 exactly the base's files with the base's bytes (a tool
# that copies linux/kvm.h alone, as kvmtool's update_headers.sh does,
# must keep working: no new file either); on s390 the same, except for
# files added under arch/arm64/ (the arm64 KVM UAPI that s390's kvm-arm64
# installs).  A header that differs is named with a diff, and with what
# scripts/uapi-abi.sh finds in it (ioctl numbers and other constants,
# struct layouts compiled for the architecture): the verdict is the
# bytes, the ABI says how bad it is.
check_headers() {
	local step=$1 a diffs line rel dir old new changed bad='' abi msg rc counts='' f
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
					s390:arch/arm64/*) ;;
					*) bad="$bad"$'\n'"$a: new installed header $rel (not in the base's headers_install)" ;;
					esac
				done < <(cd "$new/include" && find "$rel" -type f)
				;;
			"Only in $old/include"*)
				rel=${line#"Only in $old/include"}
				rel=${rel#/}
				rel=${rel%%: *}
				bad="$bad"$'\n'"$a: installed header gone: ${rel:+$rel/}${line##*: }"
				;;
			*)
				msg=${line//"$old/include/"/}
				bad="$bad"$'\n'"$a: ${msg//"$new/include/"/}"
				;;
			esac
		done <<<"$diffs"
		[ ${#changed[@]} -gt 0 ] || continue
		for f in "${changed[@]}"; do
			bad="$bad"$'\n'"$a: $f differs from the base's:"$'\n'"$(diff -u --label "base/$f" --label "step/$f" "$old/include/$f" "$new/include/$f" | head -n 20)"
		done
		rc=0
		abi=$("$KSA_ROOT/scripts/uapi-abi.sh" --compare "$a" "$old" "$new" "${changed[@]}" 2>&1) || rc=$?
		case $rc in
		0) bad="$bad"$'\n'"$a: (scripts/uapi-abi.sh finds the same ABI in ${changed[*]}: the bytes still differ)" ;;
		1) bad="$bad"$'\n'"$a: the ABI of ${changed[*]} changed:"$'\n'"$(head -n 40 <<<"$abi")" ;;
		*) printf 'scripts/uapi-abi.sh failed for %s (exit %s): %s\n' "$a" "$rc" "$(tail -n 3 <<<"$abi")" >>"$TOOL_ERRORS" ;;
		esac
	done
	if [ -d "$RES/${commits[$step]}/headers-s390/include/arch/arm64" ]; then
		if [ -d "$RES/${commits[$step]}/headers-arm64/include" ]; then
			bad="$bad$(foreign_uapi "$RES/${commits[$step]}/headers-arm64" "$RES/${commits[$step]}/headers-s390")"
		else
			bad="$bad"$'\n'"s390: arch/arm64/ cannot be compared with arm64's headers: arm64's make headers_install failed"
		fi
	fi
	tool_errors uapi "$step" && return
	if [ -n "$bad" ]; then
		printf '%s\n' "${bad#$'\n'}" | put_result "$step" uapi fail
	else
		echo "installed headers byte for byte as the base's (s390: plus arch/arm64/ only, arm64's UAPI with arm64's ABI; headers compared,$counts)" | put_result "$step" uapi pass
	fi
}
