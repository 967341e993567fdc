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
	# Generated UAPI headers of another commit (the arm64 copies that
	# s390 makes from patch 4 on) would be installed too: make them anew.
	[ ! -d "$KSA_OUT/headers-$a" ] || find "$KSA_OUT/headers-$a" -path '*/include/generated/uapi' -prune -exec rm -rf {} +
	kmake "$VT" "$KSA_OUT/headers-$a" "$a" INSTALL_HDR_PATH="$dest.tmp" headers_install >/dev/null 2>&1 &&
		mv "$dest.tmp" "$dest"
}

# foreign_uapi ARM64-DIR S390-DIR TREE: what s390 installs under
# arch/arm64/ is arm64's UAPI and nothing more (arm64 stays its source,
# s390 may not add to it).  The files are exactly the headers that TREE's
# include/uapi/arch/arm64/Kbuild copies (foreign-y); each is, byte for
# byte, the same step's arm64 header of its name as TREE's
# arch/arm64/tools/gen-foreign-uapi.sh rewrites it, and differs from it
# only by the two rewrites (checked without the script, so that a wrong
# script is seen too); and compiled for s390 the copies give the constants
# (register ids included, with the KVM_REG_* definitions of the step's
# linux/kvm.h that they build on) and the struct layouts of arm64's headers
# compiled for arm64 (on s390x a __uint128_t is aligned to 8 bytes, not
# 16).  Prints "\ns390: ..." lines for what is wrong.
foreign_uapi() {
	local arm=$1/include s390=$2/include gen=$3/arch/arm64/tools/gen-foreign-uapi.sh kbuild=$3/include/uapi/arch/arm64/Kbuild
	local rel names=() copies=() natives=() abi rc d broken=0
	d=$(mktemp -d "${TMPDIR:-/tmp}/ksa-foreign.XXXXXX")
	if [ ! -f "$gen" ] || [ ! -f "$kbuild" ]; then
		printf '\ns390: installs arch/arm64/, but the tree has no %s or %s to check it with' \
			"${gen#"$3"/}" "${kbuild#"$3"/}"
		rm -rf "$d"
		return
	fi
	read -ra names <<<"$(sed -nE 's/^foreign-y[[:space:]]*:?=[[:space:]]*//p' "$kbuild")"
	[ ${#names[@]} -gt 0 ] || printf '\ns390: %s names no header (foreign-y)' "${kbuild#"$3"/}"
	while IFS= read -r rel; do
		[[ " ${names[*]} " == *" ${rel#asm/} "* && $rel == asm/* ]] ||
			printf '\ns390: arch/arm64/%s is not one of the headers that include/uapi/arch/arm64/Kbuild copies' "$rel"
	done < <(cd "$s390/arch/arm64" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
	for rel in "${names[@]}"; do
		if [ ! -f "$s390/arch/arm64/asm/$rel" ]; then
			printf '\ns390: arch/arm64/asm/%s is not installed, although include/uapi/arch/arm64/Kbuild copies it' "$rel"
			continue
		fi
		if [ ! -f "$arm/asm/$rel" ]; then
			printf '\ns390: arch/arm64/asm/%s: arm64 installs no asm/%s (s390 may not add to the arm64 UAPI)' "$rel" "$rel"
			continue
		fi
		if ! sh "$gen" "$arm/asm/$rel" "${names[@]}" >"$d/expected" 2>"$d/err"; then
			printf '\ns390: gen-foreign-uapi.sh refuses arm64'"'"'s installed asm/%s: %s' "$rel" "$(head -c 300 "$d/err")"
		elif ! cmp -s "$d/expected" "$s390/arch/arm64/asm/$rel"; then
			printf '\ns390: arch/arm64/asm/%s is not arm64'"'"'s asm/%s as gen-foreign-uapi.sh rewrites it:\n%s' "$rel" "$rel" \
				"$(diff -u --label "arm64/asm/$rel, rewritten" --label "s390/arch/arm64/asm/$rel" "$d/expected" "$s390/arch/arm64/asm/$rel" | head -n 20)"
		fi
		sed -E 's@^([[:space:]]*#[[:space:]]*include[[:space:]]*<)arch/arm64/(asm/[^>]*>)@\1\2@; s/\<__u128\>/__uint128_t/g' \
			"$s390/arch/arm64/asm/$rel" >"$d/undone"
		if ! cmp -s "$d/undone" "$arm/asm/$rel"; then
			printf '\ns390: arch/arm64/asm/%s differs from arm64'"'"'s asm/%s by more than the two rewrites:\n%s' "$rel" "$rel" \
				"$(diff -u --label "arm64/asm/$rel" --label "s390/arch/arm64/asm/$rel, rewrites undone" "$arm/asm/$rel" "$d/undone" | head -n 20)"
		fi
		copies+=("arch/arm64/asm/$rel")
		natives+=("asm/$rel")
	done
	if [ ${#copies[@]} -gt 0 ]; then
		# Every KVM_REG_* definition of linux/kvm.h, as the preprocessor
		# sees it (a definition may continue on the next line).
		"$(cross_prefix arm64)gcc" -E -dM -nostdinc -isystem "$arm" -x c "$arm/linux/kvm.h" 2>/dev/null |
			grep -E '^#define KVM_REG_' >"$d/prelude.h" || true
		[ -s "$d/prelude.h" ] || printf '\ns390: no KVM_REG_* definition read from arm64'"'"'s linux/kvm.h: the register ids cannot be compared'
		rc=0
		"$KSA_ROOT/scripts/uapi-abi.sh" --prelude "$d/prelude.h" arm64 "$1" "${natives[@]}" >"$d/arm64" 2>"$d/err" || rc=$?
		if [ "$rc" = 0 ]; then
			"$KSA_ROOT/scripts/uapi-abi.sh" --prelude "$d/prelude.h" s390 "$2" "${copies[@]}" >"$d/s390" 2>"$d/err" || rc=$?
			if [ "$rc" = 4 ]; then
				printf '\ns390: the arm64 UAPI does not compile for s390:\n%s' "$(tail -n 10 "$d/err")"
				rc=0 broken=1
			fi
		fi
		if [ "$rc" != 0 ]; then
			printf 'scripts/uapi-abi.sh failed for the arm64 UAPI (exit %s): %s\n' "$rc" "$(tail -n 3 "$d/err")" >>"$TOOL_ERRORS"
		elif [ "$broken" = 0 ]; then
			# pahole names __u128 (the rewrite of __uint128_t) where arm64's
			# side has the base type, and aligns columns by type names.
			sed -i -E 's/\<__u128\>/__int128 unsigned/; s/[[:space:]]+/ /g' "$d/s390"
			sed -i -E 's/[[:space:]]+/ /g' "$d/arm64"
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
	if ! grep -qE "$KSA_HEADERS_INPUTS" <<<"$(changed_files "$step")"; then
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
	# From the patch that provides it on, s390 must install the arm64 UAPI.
	if [ -d "$RES/${commits[$step]}/headers-s390/include" ] && [ ! -d "$RES/${commits[$step]}/headers-s390/include/arch/arm64" ] &&
		git -C "$VT" cat-file -e "${commits[$step]}:include/uapi/arch/arm64/Kbuild" 2>/dev/null; then
		bad="$bad"$'\n'"s390: installs no arch/arm64/, although the tree has include/uapi/arch/arm64/Kbuild"
	fi
	if [ -d "$RES/${commits[$step]}/headers-s390/include/arch/arm64" ]; then
		if [ -d "$RES/${commits[$step]}/headers-arm64/include" ]; then
			if checkout "${commits[$step]}"; then
				bad="$bad$(foreign_uapi "$RES/${commits[$step]}/headers-arm64" "$RES/${commits[$step]}/headers-s390" "$VT")"
			else
				bad="$bad"$'\n'"s390: arch/arm64/ not compared: the step cannot be checked out"
			fi
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
