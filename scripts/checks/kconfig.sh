# shellcheck shell=bash
# verify-bisect check: kconfig (upgrades keep native s390 KVM).
# Inputs: the step's Kconfig files, Makefiles and Kbuild files, s390's
# configs/ and scripts/kconfig/.  Result: pass when, at the step,
#  - the base's s390 defconfig (a whole .config, made by the base's
#    Kconfig: CONFIG_KVM=m), run through the step's "make olddefconfig",
#  - and the step's own s390 defconfig
# both build native s390 KVM, kvm.ko, as a module: the option that the
# step's arch/s390/kvm Makefiles build kvm.o with (KVM at the base; from
# patch 14 KVM_S390) is "m" in both, and so is KVM.  A distribution's
# .config of the base must keep KVM when it is upgraded to the series;
# fail otherwise, with the values found.
# Sourced by scripts/verify-bisect.sh, whose state (RES, commits, VT,
# KSA_OUT and the helpers) it uses: see the runner's "checks" comment.

KSA_KCONFIG_INPUTS='(^|/)(Kconfig[^/]*|Makefile|Kbuild)$|^arch/s390/configs/|^scripts/kconfig/'

# kconfig_base: the base's s390 defconfig, made once while the work tree is
# at the base, as $RES/<base>/kconfig-s390.config.
kconfig_base() {
	local dest=$RES/$base/kconfig-s390.config
	[ -s "$dest" ] && return 0
	checkout "$base" || return 1
	rm -f "$KSA_OUT/s390-kconfig/.config"
	kmake "$VT" "$KSA_OUT/s390-kconfig" s390 defconfig >/dev/null 2>&1 || return 1
	mkdir -p "${dest%/*}"
	cp "$KSA_OUT/s390-kconfig/.config" "$dest.tmp" && mv "$dest.tmp" "$dest"
}

# kvm_module_option TREE: the options that TREE's arch/s390/kvm Makefiles
# build kvm.o (kvm.ko) with, one a line: "obj-$(CONFIG_X) += kvm.o".
kvm_module_option() {
	find "$1/arch/s390/kvm" -name Makefile -exec sed -n -E \
		's/^obj-\$\(CONFIG_([A-Za-z0-9_]+)\)[[:space:]]*\+=[[:space:]]*kvm\.o([[:space:]].*)?$/\1/p' {} + | sort -u
}

# kconfig_verdict CONFIG OPTION...: print "what: value" for each OPTION in
# the .config CONFIG; false unless every one is "m".
kconfig_verdict() {
	local cfg=$1 o v ok=0 vals=()
	shift
	for o in "$@"; do
		v=$(sed -n -E "s/^CONFIG_$o=(.*)/\\1/p; s/^# CONFIG_$o is not set/n/p" "$cfg" | head -n 1)
		vals+=("CONFIG_$o=${v:-(absent)}")
		[ "$v" = m ] || ok=1
	done
	echo "${vals[*]}"
	return $ok
}

check_kconfig() {
	local step=$1 dir=$KSA_OUT/s390-kconfig opts=() out='' bad=0 o
	have_result "$step" kconfig && return
	if [ "$step" != 0 ] && ! changed_files "$step" | grep -qE "$KSA_KCONFIG_INPUTS"; then
		echo "unchanged inputs: the step changes no Kconfig, Makefile or Kbuild file, s390 configs/ or scripts/kconfig/" |
			put_result "$step" kconfig same
		return
	fi
	if ! kconfig_base; then
		echo "make defconfig (s390) failed at the base, so there is no base .config to upgrade" | put_result "$step" kconfig fail
		return
	fi
	checkout "${commits[$step]}"
	mapfile -t opts < <(kvm_module_option "$VT")
	if [ "${#opts[@]}" != 1 ]; then
		echo "arch/s390/kvm: ${#opts[@]} Makefile lines build kvm.o (${opts[*]:-none}), expected one" | put_result "$step" kconfig fail
		return
	fi
	# KVM itself too, which the native module's option depends on (patch 14
	# on: KVM_S390), unless that option is KVM.
	[ "${opts[0]}" = KVM ] || opts+=(KVM)
	cp "$RES/$base/kconfig-s390.config" "$dir/.config"
	if ! kmake "$VT" "$dir" s390 olddefconfig >"$dir/olddefconfig.log" 2>&1; then
		out+="the base's defconfig: make olddefconfig failed: $(tail -n 3 "$dir/olddefconfig.log")"$'\n'
		bad=1
	elif o=$(kconfig_verdict "$dir/.config" "${opts[@]}"); then
		out+="the base's defconfig after make olddefconfig: $o"$'\n'
	else
		out+="the base's defconfig after make olddefconfig does not build kvm.ko as a module: $o"$'\n'
		bad=1
	fi
	rm -f "$dir/.config"
	if ! kmake "$VT" "$dir" s390 defconfig >"$dir/defconfig.log" 2>&1; then
		out+="make defconfig failed: $(tail -n 3 "$dir/defconfig.log")"$'\n'
		bad=1
	elif o=$(kconfig_verdict "$dir/.config" "${opts[@]}"); then
		out+="the step's defconfig: $o"$'\n'
	else
		out+="the step's defconfig does not build kvm.ko as a module: $o"$'\n'
		bad=1
	fi
	if [ "$bad" = 0 ]; then
		{ echo "s390 upgrades and defconfig keep kvm.ko a module (kvm.o built with CONFIG_${opts[0]})"; printf '%s' "$out"; } |
			put_result "$step" kconfig pass
	else
		{ echo "s390 KVM is not kept a module (kvm.o built with CONFIG_${opts[0]})"; printf '%s' "$out"; } |
			put_result "$step" kconfig fail
	fi
}
