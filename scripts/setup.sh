#!/usr/bin/env bash
# Install the Debian packages the project's tooling and tests need.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Package, then what it is for.  Cross compilers for the other KVM
# architectures are installed where Debian has them; verify-bisect reports
# the architectures without a compiler as not checked.
PACKAGES=(
	'git:base import, apply, export'
	'xz-utils:the base tarball'
	'ca-certificates:apt downloads'
	'make:kernel builds'
	'gcc:host tools of the kernel build'
	'libc6-dev:host tools of the kernel build'
	'flex:kernel builds'
	'bison:kernel builds'
	'bc:kernel builds'
	'libelf-dev:kernel builds with objtool'
	'libssl-dev:kernel builds with module signing tools'
	'dwarves:pahole for BTF'
	'cpio:initramfs images'
	'kmod:module handling'
	'rsync:make headers_install'
	'python3:kunit.py and kernel scripts'
	'python3-ply:checkpatch SPDX license check (scripts/spdxcheck.py)'
	'python3-git:checkpatch SPDX license check (scripts/spdxcheck.py)'
	'ccache:incremental builds'
	'gcc-s390x-linux-gnu:s390 cross builds'
	'gcc-aarch64-linux-gnu:arm64 cross builds'
	'gcc-riscv64-linux-gnu:riscv KVM builds'
	'gcc-powerpc64le-linux-gnu:powerpc KVM builds'
	'gcc-mips64el-linux-gnuabi64:mips KVM builds'
	'qemu-system-misc:qemu-system-s390x'
	'qemu-system-arm:qemu-system-aarch64'
	'qemu-system-x86:qemu-system-x86_64'
	'libc6-dev-arm64-cross:static arm64 init and KVM selftests for QEMU'
	'libc6-dev-s390x-cross:static s390x init for QEMU'
	'coccinelle:cocci/ rules and make coccicheck'
	# sparse: scripts/fetch-sparse.sh builds a newer one from Debian's source package
	'b4:review and mailing of the series'
	'quilt:the series applied as a distribution does (tests/series.sh)'
	'shellcheck:lint of scripts/ and tests/'
)

usage() {
	cat <<USAGE
Usage: $KSA_PROG [--check] [--list]

Install from Debian's archive, with apt-get, every package the project needs
(cross compilers, QEMU, coccinelle, sparse, b4, quilt, ccache and the kernel
build dependencies).  Packages already installed are left alone, so running
it again takes a second.

  --check   only report what is missing (exit 3 if anything is)
  --list    print the packages and what each is for

Exit codes: 0 everything is installed, 2 bad usage, 3 not root, apt failed or
a package is not in the archive.
USAGE
}

check_only=0
while [ $# -gt 0 ]; do
	case $1 in
	--check) check_only=1; shift ;;
	--list) printf '%s\n' "${PACKAGES[@]}" | sed 's/:/\t/'; exit 0 ;;
	-h | --help) usage; exit 0 ;;
	*) usage_error "unknown argument '$1'" ;;
	esac
done
need_cmd dpkg-query:dpkg

missing=()
for entry in "${PACKAGES[@]}"; do
	pkg=${entry%%:*}
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
	log "all ${#PACKAGES[@]} packages are installed"
	exit 0
fi
log "missing: ${missing[*]}"
[ "$check_only" = 0 ] || exit "$EX_ENV"
[ "$(id -u)" = 0 ] ||
	die "$EX_ENV" "installing packages needs root: run it as root, or 'sudo apt-get install ${missing[*]}'"
need_cmd apt-get:apt
export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
apt-get -q update >&2 || die "$EX_ENV" "apt-get update failed: check the machine's package sources"
for pkg in "${missing[@]}"; do
	# Not a pipe into grep -q: under pipefail apt-cache's SIGPIPE would
	# count as a failure.
	policy=$(apt-cache policy "$pkg" 2>/dev/null) || policy=
	grep -q '^ *Candidate: [^(]' <<<"$policy" ||
		die "$EX_ENV" "Debian package $pkg is not available from this machine's package sources"
done
log "installing ${#missing[@]} packages"
apt-get -q install -y --no-install-recommends "${missing[@]}" >&2 ||
	die "$EX_ENV" "apt-get install failed for: ${missing[*]}"
log "installed: ${missing[*]}"
