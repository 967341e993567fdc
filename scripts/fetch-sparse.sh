#!/usr/bin/env bash
# Build the sparse that the kernel's C=1 needs from its Debian source
# package into the project's cache, and print the path of the binary.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The pinned source package.  Debian 12's sparse 0.6.4 does not know
# __typeof_unqual__, so the kernel's scripts/checker-valid.sh refuses it and
# Kbuild skips C=1 with only a warning; 0.6.5~rc1 knows it.  Binary packages
# of testing and unstable need their newer C library, so the source package
# is built here, with the host compiler.
SPARSE_SOURCE=sparse=0.6.5~rc1-2
SPARSE_SUITES="unstable testing"
SPARSE_ORIG=sparse_0.6.5~rc1.orig.tar.gz
SPARSE_ORIG_SHA256=3ac8855ec7f3ab92f325be0f64347ccc2b10f8b4d7c2906783ee8e2bdab3f0de

usage() {
	cat <<USAGE
Usage: $KSA_PROG [--tarball PATH]

Print the path of a sparse that the kernel's C=1 accepts, building it
first when the cache (\$XDG_CACHE_HOME/kvm-s390-arm64/tools) has none:
the source package $SPARSE_SOURCE is downloaded with
'apt-get source --download-only' from deb-src entries for the suites
"$SPARSE_SUITES" of this machine's Debian mirror (kept private to the
script: the machine's package sources are not changed), its upstream
tarball checked against the pinned sha256, built with the host gcc and
tested: it must parse __typeof_unqual__ (what the kernel's
scripts/checker-valid.sh asks) and must report an undeclared global
symbol (so that it is shown to find something).

  --tarball PATH   build from this copy of $SPARSE_ORIG instead of
                   downloading it (KSA_SPARSE_TARBALL does the same)

Debian's own build applies two patches that change how sparse and cgcc are
linked and which gcc cgcc calls; neither concerns the sparse binary, so
none is applied here.

Exit codes: 0 done, 2 bad usage, 3 a tool is missing or the download
failed, 4 the tarball does not match the pinned sha256, 1 the build or its
test failed.
USAGE
}

tarball=${KSA_SPARSE_TARBALL:-}
while [ $# -gt 0 ]; do
	case $1 in
	--tarball) [ $# -ge 2 ] || usage_error "--tarball needs a path"; tarball=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage_error "unknown argument '$1'" ;;
	esac
done
need_cmd make gcc tar sha256sum:coreutils flock:util-linux

version=${SPARSE_SOURCE#*=}
dest=$KSA_CACHE/tools/sparse-$version
if [ -x "$dest/sparse" ] && [ -f "$dest/done" ]; then
	printf '%s\n' "$dest/sparse"
	exit 0
fi
mkdir -p "$KSA_CACHE/tools"
exec 8>"$KSA_CACHE/tools/.sparse.lock"
flock 8
# Another run may have built it while this one waited.
if [ -x "$dest/sparse" ] && [ -f "$dest/done" ]; then
	printf '%s\n' "$dest/sparse"
	exit 0
fi
# Work directories of interrupted runs.
rm -rf "$KSA_CACHE"/tools/sparse-build.*
tmp=$(mktemp -d "$KSA_CACHE/tools/sparse-build.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

if [ -z "$tarball" ]; then
	apt_source_setup "$tmp/apt" "$SPARSE_SUITES"
	log "downloading $SPARSE_SOURCE from $KSA_APT_URI (suites: $SPARSE_SUITES)"
	mkdir -p "$tmp/download"
	(cd "$tmp/download" && apt-get -q "${KSA_APT_OPTS[@]}" source --download-only "$SPARSE_SOURCE") >"$tmp/source.log" 2>&1 ||
		die "$EX_ENV" "apt could not fetch $SPARSE_SOURCE ($(tail -n 1 "$tmp/source.log")): the suites may have moved on; pass --tarball PATH with a copy of $SPARSE_ORIG, or pin the served version in $KSA_PROG"
	tarball=$tmp/download/$SPARSE_ORIG
	[ -f "$tarball" ] || die "$EX_ENV" "apt did not fetch $SPARSE_ORIG (log: $tmp/source.log)"
fi
[ -f "$tarball" ] || usage_error "--tarball $tarball: no such file"
got=$(sha256sum "$tarball" | cut -d' ' -f1)
[ "$got" = "$SPARSE_ORIG_SHA256" ] ||
	die "$EX_BASE" "$tarball has sha256 $got, $KSA_PROG pins $SPARSE_ORIG_SHA256: another version or a damaged file"

log "building sparse $version"
mkdir "$tmp/src"
tar -xzf "$tarball" -C "$tmp/src" --strip-components=1 --no-same-owner ||
	die "$EX_FAIL" "$tarball could not be extracted"
make -C "$tmp/src" -j"$(nproc)" SPARSE_VERSION="$version (built by kvm-s390-arm64)" \
	HAVE_LLVM=no HAVE_GTK=no HAVE_LIBXML=no HAVE_SQLITE=no sparse >"$tmp/build.log" 2>&1 ||
	die "$EX_FAIL" "sparse $version does not build: $(tail -n 3 "$tmp/build.log")"

# The test: what the kernel's checker-valid.sh asks, and one finding.
cat >"$tmp/t.c" <<'EOF'
int ksa_undeclared;
static inline int u(const int *q)
{
	__typeof_unqual__(*q) v = *q;
	return v;
}
EOF
out=$("$tmp/src/sparse" "$tmp/t.c" 2>&1) || true
if grep -q 'error:' <<<"$out" || ! grep -q "symbol 'ksa_undeclared' was not declared" <<<"$out"; then
	die "$EX_FAIL" "the built sparse fails its test (an error, or no finding): $out"
fi
rm -rf "$dest"
mkdir -p "$dest"
cp "$tmp/src/sparse" "$dest/sparse"
touch "$dest/done"
log "sparse $version is $dest/sparse"
printf '%s\n' "$dest/sparse"
