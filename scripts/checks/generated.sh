# shellcheck shell=bash
# verify-bisect check: generated (the headers arm64's build generates, and
# the arm64 headers that another host generates for itself).
# Inputs: the step's arm64 and s390 builds (a build that did not run again
# is "unchanged inputs").  Result: pass when
#  - arm64: every file of arch/arm64/include/generated/ (sysreg-defs.h,
#    cpucap-defs.h, kernel-hwcap.h, the UAPI ones and the wrappers) is the
#    base's, byte for byte, and no file is added or gone: the series claims
#    that arm64's generated definitions do not change (patch 5 on);
#  - s390: every header of arch/s390/include/generated/arch/arm64/asm/
#    (patch 5's copy of arm64's sysreg-defs.h) is, byte for byte, what
#    arm64's own generator makes of arm64's input at the step, and there is
#    no file there that the check does not know how arm64 makes (a new
#    one must be added to foreign_reference below);
# fail otherwise, with the files that differ.  The UAPI copies under
# generated/uapi/arch/arm64/ are the uapi check's.
# Sourced by scripts/verify-bisect.sh, whose state (RES, commits, VT,
# KSA_OUT and the helpers) it uses: see the runner's "checks" comment.

GENERATED_ARM64=arch/arm64/include/generated
GENERATED_FOREIGN=arch/s390/include/generated/arch/arm64/asm

# snapshot_generated STEP ARCH: keep the generated headers of arm64's base
# build, which later builds overwrite, as $RES/<base>/generated-arm64 (the
# .cmd files left out: they are Kbuild's records, not headers).
snapshot_generated() {
	local dest
	[ "$1" = 0 ] && [ "$2" = arm64 ] && on generated || return 0
	dest=$RES/${commits[0]}/generated-arm64
	rm -rf "$dest" "$dest.tmp"
	mkdir -p "$dest.tmp"
	(cd "$KSA_OUT/arm64-kvm/$GENERATED_ARM64" && find . -type f ! -name '.*.cmd' -exec cp --parents -p -t "$dest.tmp" {} +)
	mv "$dest.tmp" "$dest"
}

# has_generated_snapshot STEP ARCH: false only for a passing arm64 base
# build without the snapshot (from before the check existed): it is built
# again, so that the steps have something to compare with.
has_generated_snapshot() {
	[ "$1" = 0 ] && [ "$2" = arm64 ] && on generated || return 0
	[ "$(head -n 1 "$(result_file 0 build-arm64)" 2>/dev/null)" = pass ] || return 0
	[ -d "$RES/${commits[0]}/generated-arm64" ]
}

# foreign_reference FILE: print what arm64's build makes of FILE (a header
# of GENERATED_FOREIGN) from the work tree at the step; exit 2 for a file
# it does not know.
foreign_reference() {
	case $1 in
	sysreg-defs.h) (cd "$VT" && awk -f arch/arm64/tools/gen-sysreg.awk arch/arm64/tools/sysreg) ;;
	*) return 2 ;;
	esac
}

# check_generated STEP.
check_generated() {
	local step=$1 st d f ref rc out='' bad=0 checked=0 same=0 nfiles
	have_result "$step" generated && return
	checkout "${commits[$step]}"
	if [[ " ${build_arches[*]} " == *" arm64 "* ]]; then
		st=$(head -n 1 "$(result_file "$step" build-arm64)" 2>/dev/null)
		d=$RES/${commits[0]}/generated-arm64
		if [ "$st" = same ]; then
			out+="arm64: unchanged inputs (the step did not build arm64 again)"$'\n'
			same=$((same + 1))
		elif [ "$st" != pass ]; then
			out+="arm64: not checked, the step's build did not pass (${st:-no result})"$'\n'
		elif [ ! -d "$d" ]; then
			out+="arm64: not checked, no snapshot of the base's generated headers"$'\n'
		else
			rc=0
			f=$(diff -r -q -x '.*.cmd' "$d" "$KSA_OUT/arm64-kvm/$GENERATED_ARM64" 2>&1) || rc=$?
			nfiles=$(find "$d" -type f | grep -c . || true)
			checked=$((checked + 1))
			if [ "$rc" = 0 ]; then
				out+="arm64: the $nfiles files of $GENERATED_ARM64 are the base's, byte for byte"$'\n'
			else
				bad=1
				out+="arm64: $GENERATED_ARM64 differs from the base's ($nfiles files):"$'\n'
				out+=$(sed -e "s#$d#base#g" -e "s#$KSA_OUT/arm64-kvm/##g" <<<"$f" | head -n 20)$'\n'
				while IFS= read -r f; do
					[[ $f =~ ^Files\ (.*)\ and\ (.*)\ differ$ ]] || continue
					out+=$(diff -u "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" | sed -e "s#$d#base#g" -e "s#$KSA_OUT/arm64-kvm/##g" | head -n 20)$'\n'
				done < <(diff -r -q -x '.*.cmd' "$d" "$KSA_OUT/arm64-kvm/$GENERATED_ARM64" 2>&1 | head -n 3)
			fi
		fi
	fi
	if [[ " ${build_arches[*]} " == *" s390 "* ]]; then
		st=$(head -n 1 "$(result_file "$step" build-s390)" 2>/dev/null)
		d=$KSA_OUT/s390-kvm/$GENERATED_FOREIGN
		if [ "$st" = same ]; then
			out+="s390: unchanged inputs (the step did not build s390 again)"$'\n'
			same=$((same + 1))
		elif [ "$st" != pass ]; then
			out+="s390: not checked, the step's build did not pass (${st:-no result})"$'\n'
		elif [ ! -d "$d" ]; then
			out+="s390: generates no arm64 header (no $GENERATED_FOREIGN)"$'\n'
			checked=$((checked + 1))
		else
			checked=$((checked + 1))
			nfiles=0
			ref=$(mktemp "${TMPDIR:-/tmp}/ksa-generated.XXXXXX")
			for f in "$d"/*; do
				[ -e "$f" ] || continue
				nfiles=$((nfiles + 1))
				rc=0
				foreign_reference "${f##*/}" >"$ref" 2>&1 || rc=$?
				if [ "$rc" = 2 ]; then
					bad=1
					out+="s390: $GENERATED_FOREIGN/${f##*/}: not a header this check knows how arm64 makes (add it to foreign_reference in scripts/checks/generated.sh)"$'\n'
				elif [ "$rc" != 0 ]; then
					bad=1
					out+="s390: arm64's generator failed for ${f##*/}: $(tail -n 2 "$ref")"$'\n'
				elif cmp -s "$ref" "$f"; then
					out+="s390: $GENERATED_FOREIGN/${f##*/} is what arm64's generator makes of arm64's input, byte for byte ($(wc -c <"$f") bytes)"$'\n'
				else
					bad=1
					out+="s390: $GENERATED_FOREIGN/${f##*/} is not what arm64's generator makes of arm64's input:"$'\n'
					out+=$(diff -u "$ref" "$f" | sed -e "s#$ref#arm64's#" -e "s#$KSA_OUT/s390-kvm/##g" | head -n 20)$'\n'
				fi
			done
			rm -f "$ref"
			[ "$nfiles" != 0 ] || out+="s390: $GENERATED_FOREIGN is empty"$'\n'
		fi
	fi
	out=${out%$'\n'}
	if [ "$bad" = 1 ]; then
		printf '%s\n' "$out" | put_result "$step" generated fail
	elif [ "$checked" -gt 0 ]; then
		printf '%s\n' "$out" | put_result "$step" generated pass
	elif [ "$same" -gt 0 ]; then
		printf 'unchanged inputs: %s\n' "$out" | put_result "$step" generated same
	else
		printf 'not checked: %s\n' "${out:-neither arm64 nor s390 is built}" | put_result "$step" generated skip
	fi
}
