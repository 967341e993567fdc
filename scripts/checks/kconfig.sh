# shellcheck shell=bash
# verify-bisect check: kconfig (upgrades keep native s390 KVM).
# Inputs: the step's Kconfig files, Makefiles and Kbuild files, s390's
# configs/ and scripts/kconfig/.  Result: pass when, at the step,
#  - the base's s390 defconfig (a whole .config, made by the base's
#    Kconfig: CONFIG_KVM=m), run through the step's "make olddefconfig",
#  - and the step's own s390 defconfig
# both build native s390 KVM, kvm.ko, as a module: the option that the
# step's arch/s390/kvm Makefiles build kvm.o with (KVM at the base; from
# patch 14 KVM_S390) is "m", and every option on Kbuild's way from
# arch/s390/Kbuild down to that Makefile (obj-$(CONFIG_X) += dir/), and
# KVM, is "y" or "m".  A distribution's .config of the base must keep KVM
# when it is upgraded to the series; fail otherwise, with the values found.
# Sourced by scripts/verify-bisect.sh, whose state (RES, commits, VT,
# KSA_OUT and the helpers) it uses: see the runner's "checks" comment.

KSA_KCONFIG_INPUTS='(^|/)(Kconfig[^/]*|Makefile|Kbuild)$|^arch/s390/configs/|^scripts/kconfig/'

# kconfig_base: the base's s390 defconfig, made once, as
# $RES/<base>/kconfig-s390.config (make's output beside it, .log).  From
# the work tree when it is at the base (the walk's start); otherwise from
# a scratch work tree of the base, so that the walk's tree keeps its files
# and their times (a checkout of the base and back would make the next
# step's builds compile again everything the series changed).
kconfig_base() {
	local dest=$RES/$base/kconfig-s390.config tree scratch='' rc=0
	[ -s "$dest" ] && return 0
	mkdir -p "${dest%/*}" "$KSA_OUT/s390-kconfig"
	if [ "$(vgit rev-parse HEAD)" = "$base" ]; then
		tree=$VT
	else
		scratch=$(realpath -m "$(mktemp -d "${TMPDIR:-/tmp}/ksa-kconfig.XXXXXX")")
		vgit worktree add -q --detach "$scratch/linux" "$base" >"$dest.log" 2>&1 || rc=$?
		tree=$scratch/linux
	fi
	rm -f "$KSA_OUT/s390-kconfig/.config"
	[ "$rc" != 0 ] || (kmake "$tree" "$KSA_OUT/s390-kconfig" s390 defconfig) >"$dest.log" 2>&1 || rc=$?
	if [ -n "$scratch" ]; then
		vgit worktree remove --force "$scratch/linux" >/dev/null 2>&1 || true
		rm -rf "$scratch"
		vgit worktree prune >/dev/null 2>&1 || true
	fi
	[ "$rc" = 0 ] || return 1
	cp "$KSA_OUT/s390-kconfig/.config" "$dest.tmp" && mv "$dest.tmp" "$dest"
}

# kvm_module_makefile TREE: the Makefiles (or Kbuild files) under TREE's
# arch/s390/kvm that build kvm.o (kvm.ko), one a line: "PATH OPTION" for
# each "obj-$(CONFIG_OPTION) += kvm.o".
kvm_module_makefile() {
	local f
	while IFS= read -r f; do
		sed -n -E 's/^obj-\$\(CONFIG_([A-Za-z0-9_]+)\)[[:space:]]*\+=[[:space:]]*kvm\.o([[:space:]].*)?$/\1/p' "$f" |
			while IFS= read -r o; do printf '%s %s\n' "${f#"$1"/}" "$o"; done
	done < <(find "$1/arch/s390/kvm" \( -name Makefile -o -name Kbuild \) | sort)
}

# kbuild_path_options TREE DIR: the options on Kbuild's way from
# arch/s390/Kbuild down to DIR (relative to TREE, under arch/s390): for
# each directory, the "obj-$(CONFIG_X) += NAME/" (or obj-y, printed as y)
# of its parent's Kbuild or Makefile, one a line; "none:DIR" for a
# directory that its parent does not descend into.
kbuild_path_options() {
	local tree=$1 dir=$2 parent name o f
	while [ "$dir" != arch/s390 ] && [ "$dir" != . ]; do
		parent=${dir%/*} name=${dir##*/} o=''
		for f in "$tree/$parent/Kbuild" "$tree/$parent/Makefile"; do
			[ -f "$f" ] || continue
			o=$(sed -n -E "s/^obj-(y|\\\$\\(CONFIG_([A-Za-z0-9_]+)\\))[[:space:]]*\\+=[[:space:]]*(.*[[:space:]])?$name\\/([[:space:]].*)?\$/\\1 \\2/p" "$f" | head -n 1)
			[ -z "$o" ] || break
		done
		case $o in
		'') echo "none:$dir" ;;
		y*) echo y ;;
		*) echo "${o#* }" ;;
		esac
		dir=$parent
	done
}

# kconfig_verdict CONFIG MODULE OPTION...: "CONFIG_X=v" for MODULE and each
# OPTION in the .config CONFIG; false unless MODULE is "m" and every OPTION
# "y" or "m".
kconfig_verdict() {
	local cfg=$1 o v ok=0 vals=() first=1
	shift
	for o in "$@"; do
		v=$(sed -n -E "s/^CONFIG_$o=(.*)/\\1/p; s/^# CONFIG_$o is not set/n/p" "$cfg" | head -n 1)
		vals+=("CONFIG_$o=${v:-(absent)}")
		if [ "$first" = 1 ]; then
			[ "$v" = m ] || ok=1
		else
			[ "$v" = m ] || [ "$v" = y ] || ok=1
		fi
		first=0
	done
	echo "${vals[*]}"
	return $ok
}

check_kconfig() {
	local step=$1 dir=$KSA_OUT/s390-kconfig mods=() opts=() out='' bad=0 o p cfg
	have_result "$step" kconfig && return
	# A here-string, not a pipe: grep -q would stop reading at its first
	# match, and git's SIGPIPE would then fail the pipeline (pipefail).
	if [ "$step" != 0 ] && ! grep -qE "$KSA_KCONFIG_INPUTS" <<<"$(changed_files "$step")"; then
		echo "unchanged inputs: the step changes no Kconfig, Makefile or Kbuild file, s390 configs/ or scripts/kconfig/" |
			put_result "$step" kconfig same
		return
	fi
	if ! kconfig_base; then
		{ echo "make defconfig (s390) failed at the base, so there is no base .config to upgrade:"; tail -n 20 "$RES/$base/kconfig-s390.config.log" 2>/dev/null; } |
			put_result "$step" kconfig fail
		return
	fi
	checkout "${commits[$step]}"
	mapfile -t mods < <(kvm_module_makefile "$VT")
	if [ "${#mods[@]}" != 1 ]; then
		{ echo "arch/s390/kvm: ${#mods[@]} Makefile lines build kvm.o, expected one:"; printf '%s\n' "${mods[@]}"; } | put_result "$step" kconfig fail
		return
	fi
	p=${mods[0]% *}
	opts=("${mods[0]#* }")
	while IFS= read -r o; do
		case $o in
		none:*)
			echo "Kbuild does not descend into ${o#none:} (no obj-... += ${o##*/}/ in its parent), so kvm.o in $p is never built" |
				put_result "$step" kconfig fail
			return
			;;
		y) ;;
		*) [[ " ${opts[*]} " == *" $o "* ]] || opts+=("$o") ;;
		esac
	done < <(kbuild_path_options "$VT" "${p%/*}")
	[[ " ${opts[*]} " == *" KVM "* ]] || opts+=(KVM)
	mkdir -p "$dir"
	for cfg in upgrade defconfig; do
		if [ "$cfg" = upgrade ]; then
			cp "$RES/$base/kconfig-s390.config" "$dir/.config"
			kmake "$VT" "$dir" s390 olddefconfig >"$dir/$cfg.log" 2>&1 || { out+="the base's defconfig: make olddefconfig failed: $(tail -n 3 "$dir/$cfg.log")"$'\n'; bad=1; continue; }
			p="the base's defconfig after make olddefconfig"
		else
			rm -f "$dir/.config"
			kmake "$VT" "$dir" s390 defconfig >"$dir/$cfg.log" 2>&1 || { out+="make defconfig failed: $(tail -n 3 "$dir/$cfg.log")"$'\n'; bad=1; continue; }
			p="the step's defconfig"
		fi
		if o=$(kconfig_verdict "$dir/.config" "${opts[@]}"); then
			out+="$p: $o"$'\n'
		else
			out+="$p does not build kvm.ko as a module: $o"$'\n'
			bad=1
		fi
	done
	if [ "$bad" = 0 ]; then
		{ echo "s390 upgrades and defconfig keep kvm.ko a module (kvm.o built with CONFIG_${opts[0]}, ${mods[0]% *})"; printf '%s' "$out"; } |
			put_result "$step" kconfig pass
	else
		{ echo "s390 KVM is not kept a module (kvm.o built with CONFIG_${opts[0]}, ${mods[0]% *}; it must be m, the options above it y or m)"; printf '%s' "$out"; } |
			put_result "$step" kconfig fail
	fi
}
