#!/usr/bin/env bash
# Dump or compare the ABI of installed UAPI headers, compiled for one
# architecture.  The tree's scripts/check-uapi.sh does not do this job: it
# compares with libabigail's abidiff, which sees types and functions but no
# macro constants, and the ioctl numbers and flags of the KVM UAPI are
# macros; it also wants a git tree with both versions, not two installed
# header trees.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	cat <<USAGE
Usage: $KSA_PROG [--prelude FILE] ARCH DIR HEADER...
       $KSA_PROG [--prelude FILE] --compare ARCH OLD-DIR NEW-DIR HEADER...

Print the ABI that the installed UAPI headers HEADER... (paths under
DIR/include, for example linux/kvm.h) define for ARCH, as compiled by the
ARCH cross compiler, without running anything:

  const NAME = VALUE     every object-like macro and enumerator of the
                         headers that is an integer constant (ioctl
                         numbers, flags, capabilities, register ids), in
                         unsigned decimal, so that two architectures'
                         dumps compare
  struct NAME { ... }    every struct and union, with the offset and size
                         of each member (pahole on a -g object)

The dump is sorted, so a definition that moves from one header to another
that the first includes does not change it.  With --compare, dump OLD-DIR
and NEW-DIR for the same headers and print the differences (a unified
diff); headers missing in OLD-DIR are left out of both sides.

DIR is what 'make headers_install INSTALL_HDR_PATH=DIR' made.

--prelude FILE is included first: definitions that the headers' macros use
without including them (arm64's asm/kvm.h builds register ids on
KVM_REG_ARM64 of linux/kvm.h).  Its own definitions are not dumped.

Exit codes: 0 same ABI (or a dump), 1 the ABI differs, 2 bad usage, 3 a
tool is missing, 4 the headers do not compile.
USAGE
}

compare=0 prelude=
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--compare) compare=1; shift ;;
	--prelude)
		[ $# -ge 2 ] || usage_error "--prelude needs a FILE"
		[ -f "$2" ] || usage_error "--prelude $2: no such file"
		prelude=$(realpath "$2")
		shift 2
		;;
	-*) usage_error "unknown argument '$1'" ;;
	*) break ;;
	esac
done
if [ "$compare" = 1 ]; then
	[ $# -ge 4 ] || usage_error "--compare needs ARCH OLD-DIR NEW-DIR HEADER..."
else
	[ $# -ge 3 ] || usage_error "needs ARCH DIR HEADER..."
fi
need_cmd pahole:dwarves
arch=$1
shift
cross=$(cross_prefix "$arch") || die "$EX_ENV" "no cross compiler for $arch: run scripts/setup.sh"
need_cmd "${cross}gcc"
need_cmd "${cross}readelf:binutils"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ksa-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cc() { "${cross}gcc" -nostdinc -isystem "$dir/include" -w "$@"; }

# settle D LINE CC-ARGS...: compile D/tu.c followed by LINE (a printf
# format with the name twice) for every name in D/names, dropping the
# names whose lines fail, until it compiles (at most 8 rounds).
settle() {
	local d=$1 line=$2 i
	shift 2
	for i in 1 2 3 4 5 6 7 8; do
		{
			cat "$d/tu.c"
			awk -v f="$line\n" '{ printf f, $1, $1 }' "$d/names"
		} >"$d/c.c"
		if cc "$@" "$d/c.c" 2>"$d/err"; then
			return 0
		fi
		# Drop the names of the lines that failed.
		grep -oE 'c\.c:[0-9]+' "$d/err" | cut -d: -f2 | sort -un |
			awk -v n="$(wc -l <"$d/tu.c")" '{ print $1 - n }' >"$d/bad"
		[ -s "$d/bad" ] || { cat "$d/err" >&2; die "$EX_BASE" "$arch: constants of the headers do not compile"; }
		awk 'NR == FNR { bad[$1] = 1; next } !(FNR in bad)' "$d/bad" "$d/names" >"$d/names.new"
		mv "$d/names.new" "$d/names"
	done
	die "$EX_BASE" "$arch: constants of the headers do not settle"
}

# dump DIR HEADER...: the sorted ABI dump on stdout.
dump() {
	local dir=$1 d=$tmp/$RANDOM h i
	shift
	dir=$(realpath "$dir")
	mkdir -p "$d"
	{
		[ -z "$prelude" ] || printf '#include "%s"\n' "$prelude"
		for h in "$@"; do printf '#include <%s>\n' "$h"; done
	} >"$d/tu.c"
	# The headers must compile on their own (no libc: -nostdinc).
	cc -fsyntax-only "$d/tu.c" 2>"$d/err" ||
		{ sed 's/^/  /' "$d/err" >&2; die "$EX_BASE" "$arch: $* do not compile from $dir"; }

	# Integer constants: the headers' object-like macros and enumerators.
	# Those that are not integer constant expressions do not compile and
	# are dropped, round by round.
	cc -E -dD "$d/tu.c" >"$d/pp" || die "$EX_ENV" "$arch: the preprocessor failed on $*"
	awk -v dir="$dir/" '
		/^# [0-9]+ "/ { f = $0; sub(/^# [0-9]+ "/, "", f); sub(/".*$/, "", f); mine = index(f, dir) == 1; next }
		mine && /^#define [A-Za-z_][A-Za-z0-9_]* ./ { print $2 }' "$d/pp" >"$d/names"
	cc -g -fno-eliminate-unused-debug-types -c -o "$d/tu.o" "$d/tu.c" ||
		die "$EX_ENV" "$arch: cannot compile $* with debug information"
	"${cross}readelf" --debug-dump=info "$d/tu.o" >"$d/dwarf" || die "$EX_ENV" "$arch: readelf failed"
	awk '/DW_TAG_enumerator/ { e = 1; next } e && /DW_AT_name/ { print $NF; e = 0 }' "$d/dwarf" |
		grep -E '^[A-Za-z_][A-Za-z0-9_]*$' >>"$d/names" || true
	sort -u -o "$d/names" "$d/names"
	# First the names that are integer constants: each is tried in a
	# function of its own, because the compiler names an undeclared
	# identifier once per function (a header's macros that use one from a
	# header it does not include would otherwise fail one per round).  The
	# array size refuses what is not an integer constant (a string's
	# address is a valid initialiser too).
	settle "$d" 'void __abi_f_%s(void) { enum { __abi_e = sizeof(char[0 * (%s) + 1]) }; }' -fsyntax-only
	# Then their values, read back from the assembly.
	settle "$d" 'unsigned long long __abi_%s = (unsigned long long)(%s);' -S -o "$d/c.s"
	awk '
		/^__abi_[A-Za-z0-9_]+:/ { name = substr($1, 7, length($1) - 7); next }
		name != "" && $1 ~ /^\.(quad|xword|8byte|dword)$/ { printf "const %s = %s\n", name, $2; name = ""; next }
		name != "" && $1 == ".zero" { printf "const %s = 0\n", name; name = ""; next }
		' "$d/c.s" |
		# One notation on every architecture: the assemblers print a
		# value in decimal, negative or in hex.
		while read -r _ name _ value; do printf 'const %s = %u\n' "$name" "$value"; done |
		sort >"$d/consts"
	# Every name that compiled must have been read back from the assembly.
	[ "$(wc -l <"$d/consts")" = "$(grep -c . "$d/names" || true)" ] ||
		die "$EX_ENV" "$arch: read $(wc -l <"$d/consts") of $(grep -c . "$d/names") constants back from the assembly"

	# Layouts: every struct and union the headers declare, sorted by name,
	# without pahole's hole, padding and cacheline comments.
	# Headers of macros alone (asm/hwcap.h) give pahole no types to read.
	if ! grep -qE '^[[:space:]]*(typedef[[:space:]]+)?(struct|union)[[:space:]]' "$d/pp"; then
		: >"$d/pahole"
	elif ! pahole --suppress_aligned_attribute --suppress_packed "$d/tu.o" >"$d/pahole" 2>"$d/err"; then
		cat "$d/err" >&2
		die "$EX_ENV" "$arch: pahole failed"
	fi
	if grep -qE '^(struct|union) [A-Za-z_][A-Za-z0-9_]* \{' "$d/pp" &&
		! grep -qE '^(struct|union) [^ ]+ \{' "$d/pahole"; then
		die "$EX_ENV" "$arch: pahole printed no struct of $* (too old for this compiler's DWARF?)"
	fi
	cat "$d/consts"
	sed -E 's#^([[:space:]]*)/\* size: ([0-9]+),.*\*/$#\1/* size: \2 */#; /^[[:space:]]*\/\* *(sum|last|paddings|padding|forced|XXX|---|bit_padding|holes|BRAIN)[^*]*\*\/$/d' "$d/pahole" |
		awk '
		/^(struct|union) [^ ]+ \{/ { key = $1 " " $2; body = $0; inb = 1; next }
		inb { body = body "\001" $0 }
		inb && /^\};/ { print key "\t" body; inb = 0 }' |
		sort -t "$(printf '\t')" -k1,1 -u | cut -f2- | tr '\001' '\n'
}

if [ "$compare" = 0 ]; then
	dump "$@"
	exit
fi
old=$1 new=$2
shift 2
present=()
for h in "$@"; do
	[ -f "$new/include/$h" ] || die "$EX_USAGE" "$new/include/$h does not exist"
	[ -f "$old/include/$h" ] && present+=("$h")
done
[ ${#present[@]} -gt 0 ] || exit 0
# dump runs in a subshell of its own so that its die ends the script.
(dump "$old" "${present[@]}") >"$tmp/old" || exit
(dump "$new" "${present[@]}") >"$tmp/new" || exit
if diff -u --label "$arch: old" --label "$arch: new" "$tmp/old" "$tmp/new"; then
	exit 0
fi
exit "$EX_FAIL"
