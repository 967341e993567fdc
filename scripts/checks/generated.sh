# shellcheck shell=bash
# verify-bisect check: generated (the headers arm64's build generates, and
# the arm64 headers that another host generates for itself).
# Inputs: the step's arm64 and s390 builds, as kept after each passing
# build (a step that built neither again is "unchanged inputs").  Result:
# pass when
#  - arm64: every file of arch/arm64/include/generated/ (sysreg-defs.h,
#    cpucap-defs.h, kernel-hwcap.h, the UAPI ones and the wrappers) is the
#    base build's, byte for byte, and no file is added or gone: the series
#    claims that arm64's generated definitions do not change;
#  - s390: arch/s390/include/generated/arch/arm64/ holds exactly the
#    headers that the step's arch/s390/Makefile has made (patch 5 on:
#    asm/sysreg-defs.h), each byte for byte what arm64's own generator
#    makes of arm64's input at the step, and the same file as arm64's own
#    build made; a file there that the check does not know how arm64 makes
#    fails (add it to foreign_reference below);
# fail otherwise, with the files that differ; not checked (never a pass)
# when a build it needs did not pass.  The UAPI copies under
# generated/uapi/arch/arm64/ are the uapi check's.
# Sourced by scripts/verify-bisect.sh, whose state (RES, commits, VT,
# KSA_OUT and the helpers) it uses: see the runner's "checks" comment.

declare -A GENERATED_DIR=([arm64]=arch/arm64/include/generated [s390]=arch/s390/include/generated/arch/arm64)

# snapshot_generated STEP ARCH: keep what ARCH's passing build of STEP
# generated in GENERATED_DIR, which the next build overwrites, as
# $RES/<commit>/generated-ARCH (Kbuild's .cmd files left out: they are its
# records, not headers; an empty directory when there is none).
snapshot_generated() {
	local dest src=$KSA_OUT/$2-kvm/${GENERATED_DIR[$2]:-}
	[ -n "${GENERATED_DIR[$2]:-}" ] && on generated || return 0
	dest=$RES/${commits[$1]}/generated-$2
	rm -rf "$dest" "$dest.tmp"
	mkdir -p "$dest.tmp"
	if [ -d "$src" ]; then
		(cd "$src" && find . ! -type d ! -name '.*.cmd' -exec cp -P --parents -p -t "$dest.tmp" {} +)
	fi
	mv "$dest.tmp" "$dest"
}

# has_generated_snapshot STEP ARCH: false only for a passing build of ARCH
# without its snapshot (from before the check existed): it is built again.
has_generated_snapshot() {
	[ -n "${GENERATED_DIR[$2]:-}" ] && on generated || return 0
	[ "$(head -n 1 "$(result_file "$1" "build-$2")" 2>/dev/null)" = pass ] || return 0
	[ -d "$RES/${commits[$1]}/generated-$2" ]
}

# generated_snapshot STEP ARCH: the snapshot of the build that ARCH's
# build directory holds at STEP (the last step before that built it
# again); prints nothing when that build did not pass.
generated_snapshot() {
	local i
	i=$(built_at "$1" "$2")
	[ "$(head -n 1 "$(result_file "$i" "build-$2")" 2>/dev/null)" = pass ] || return 0
	[ -d "$RES/${commits[$i]}/generated-$2" ] && echo "$RES/${commits[$i]}/generated-$2"
}

# foreign_reference FILE: print what arm64's build makes of FILE (relative
# to arch/s390/include/generated/arch/arm64/) from the work tree at the
# step; exit 2 for a file it does not know.
foreign_reference() {
	case $1 in
	asm/sysreg-defs.h) (cd "$VT" && awk -f arch/arm64/tools/gen-sysreg.awk arch/arm64/tools/sysreg) ;;
	*) return 2 ;;
	esac
}

# foreign_expected: the files that the work tree's arch/s390/Makefile makes
# in arch/s390/include/generated/arch/arm64/, one a line.
foreign_expected() {
	if grep -qE '^[[:space:]]+\$\(Q\)\$\(MAKE\) \$\(build\)=include/arch/arm64([[:space:]]|$)' "$VT/arch/s390/Makefile"; then echo asm/sysreg-defs.h; fi
}

# arm64_unmade BASE: the headers of the base's snapshot BASE that arm64's
# arch/arm64/tools/Makefile makes (kapisyshdr-y) and the step's Makefile no
# longer does: Kbuild does not delete them, so the base's copy would stay
# in the build directory and look unchanged.
arm64_unmade() {
	local h made
	made=$(sed -n 's/^kapisyshdr-y[[:space:]]*:*=//p' "$VT/arch/arm64/tools/Makefile" 2>/dev/null)
	for h in cpucap-defs.h kernel-hwcap.h sysreg-defs.h; do
		[ -f "$1/asm/$h" ] || continue
		[[ " $made " == *" $h "* ]] || printf 'asm/%s ' "$h"
	done
}

# check_generated STEP.
check_generated() {
	local step=$1 st d base f ref rc a64 list want out='' bad=0 checked=0 same=0 unchecked=0 n
	have_result "$step" generated && return
	checkout "${commits[$step]}"
	if [[ " ${build_arches[*]} " == *" arm64 "* ]]; then
		st=$(head -n 1 "$(result_file "$step" build-arm64)" 2>/dev/null)
		d=$(generated_snapshot "$step" arm64) base=$(generated_snapshot 0 arm64)
		if [ "$st" = same ]; then
			out+="arm64: unchanged inputs (the step did not build arm64 again)"$'\n'
			same=$((same + 1))
		elif [ "$st" != pass ] || [ -z "$d" ] || [ -z "$base" ]; then
			out+="arm64: not checked, the step's or the base's build did not pass (${st:-no result})"$'\n'
			unchecked=$((unchecked + 1))
		else
			checked=$((checked + 1))
			rc=0
			f=$(diff -r -q "$base" "$d" 2>&1) || rc=$?
			n=$(find "$base" ! -type d | grep -c . || true)
			want=$(arm64_unmade "$base")
			if [ ! -f "$base/asm/sysreg-defs.h" ]; then
				bad=1 out+="arm64: the base build's ${GENERATED_DIR[arm64]} holds no asm/sysreg-defs.h ($n files): not a snapshot of an arm64 build"$'\n'
			elif [ -n "$want" ]; then
				bad=1 out+="arm64: the step's arch/arm64/tools/Makefile no longer makes ${want% } (the build directory keeps the base's)"$'\n'
			elif [ "$rc" = 0 ]; then
				out+="arm64: the $n files of ${GENERATED_DIR[arm64]} are the base build's, byte for byte"$'\n'
			else
				bad=1
				out+="arm64: ${GENERATED_DIR[arm64]} differs from the base build's ($n files there):"$'\n'
				f=${f//"$base"/base}
				out+="${f//"$d"/step}"$'\n'
				while IFS= read -r f; do
					[[ $f =~ ^Files\ (.*)\ and\ (.*)\ differ$ ]] || continue
					f=$(diff -u "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" | head -n 20)
					f=${f//"$base"/base}
					out+="${f//"$d"/step}"$'\n'
				done < <(diff -r -q "$base" "$d" 2>&1 | head -n 3)
			fi
		fi
	fi
	if [[ " ${build_arches[*]} " == *" s390 "* ]]; then
		st=$(head -n 1 "$(result_file "$step" build-s390)" 2>/dev/null)
		d=$(generated_snapshot "$step" s390)
		if [ "$st" = same ]; then
			out+="s390: unchanged inputs (the step did not build s390 again)"$'\n'
			same=$((same + 1))
		elif [ "$st" != pass ] || [ -z "$d" ]; then
			out+="s390: not checked, the step's build did not pass (${st:-no result})"$'\n'
			unchecked=$((unchecked + 1))
		else
			checked=$((checked + 1))
			want=$(foreign_expected)
			list=$(cd "$d" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort)
			# What arm64's own build made, to compare with where it has
			# the file.
			a64=$(generated_snapshot "$step" arm64)
			ref=$(mktemp "${TMPDIR:-/tmp}/ksa-generated.XXXXXX")
			while IFS= read -r f; do
				[ -n "$f" ] || continue
				rc=0
				if [ -L "$d/$f" ] || [ ! -f "$d/$f" ]; then
					bad=1 out+="s390: ${GENERATED_DIR[s390]}/$f is not a regular file"$'\n'
					continue
				fi
				if ! grep -qxF "$f" <<<"$want"; then
					bad=1 out+="s390: ${GENERATED_DIR[s390]}/$f is not one that the step's arch/s390/Makefile makes (left by an earlier build, or a rule this check does not know: add it to foreign_reference and foreign_expected in scripts/checks/generated.sh)"$'\n'
					continue
				fi
				foreign_reference "$f" >"$ref" 2>&1 || rc=$?
				if [ "$rc" != 0 ]; then
					bad=1 out+="s390: arm64's generator failed for $f: $(tail -n 2 "$ref")"$'\n'
				elif ! cmp -s "$ref" "$d/$f"; then
					bad=1 out+="s390: ${GENERATED_DIR[s390]}/$f is not what arm64's generator makes of arm64's input:"$'\n'
					n=$(diff -u "$ref" "$d/$f" | head -n 20)
					n=${n//"$ref"/arm64\'s generator}
					out+="${n//"$d"/s390}"$'\n'
				elif [ -n "$a64" ] && [ -f "$a64/$f" ] && ! cmp -s "$a64/$f" "$d/$f"; then
					bad=1 out+="s390: ${GENERATED_DIR[s390]}/$f differs from arm64's ${GENERATED_DIR[arm64]}/$f"$'\n'
				else
					out+="s390: ${GENERATED_DIR[s390]}/$f is what arm64's generator makes of arm64's input, byte for byte ($(wc -c <"$d/$f") bytes)$([ -n "$a64" ] && [ -f "$a64/$f" ] && echo ", the same file as arm64's build made")"$'\n'
				fi
			done <<<"$list"
			rm -f "$ref"
			while IFS= read -r f; do
				[ -n "$f" ] || continue
				grep -qxF "$f" <<<"$list" || { bad=1 out+="s390: ${GENERATED_DIR[s390]}/$f is missing: the step's arch/s390/Makefile makes it"$'\n'; }
			done <<<"$want"
			[ -n "$want$list" ] || out+="s390: makes no arm64 header (its arch/s390/Makefile does not call include/arch/arm64)"$'\n'
		fi
	fi
	out=${out%$'\n'}
	if [ "$bad" = 1 ]; then
		printf '%s\n' "$out" | put_result "$step" generated fail
	elif [ "$unchecked" -gt 0 ]; then
		printf 'not checked: %s\n' "$out" | put_result "$step" generated skip
	elif [ "$checked" -gt 0 ]; then
		printf '%s\n' "$out" | put_result "$step" generated pass
	elif [ "$same" -gt 0 ]; then
		printf 'unchanged inputs: %s\n' "$out" | put_result "$step" generated same
	else
		echo "not checked: neither arm64 nor s390 is built" | put_result "$step" generated skip
	fi
}
