# shellcheck shell=bash
# Shared shell library of the kvm-s390-arm64 tooling: logging, error exits,
# tool checks, the project layout and the pinned base.  Every script in
# scripts/ and tests/ sources this file first.

set -euo pipefail
export LC_ALL=C

# Run rather than sourced: say what it is.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case ${1:-} in
	-h | --help | '')
		echo "Usage: source scripts/lib.sh (from a script of the project)"
		echo
		echo "The shell library of the kvm-s390-arm64 tooling: logging, exit codes,"
		echo "tool checks, the project layout, the pinned base, the kernel work tree,"
		echo "git am (ksa_am), kernel configurations and builds.  It is not a command."
		exit 0 ;;
	*) echo "lib.sh: error: unknown argument '$1' (see 'lib.sh --help')" >&2; exit 2 ;;
	esac
fi

KSA_PROG=${KSA_PROG:-$(basename "$0")}
# The project checkout this script belongs to (the parent of scripts/).
KSA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Exit codes shared by all scripts (documented in README.md).
# shellcheck disable=SC2034 # used by the scripts that source this file
readonly EX_OK=0 EX_FAIL=1 EX_USAGE=2 EX_ENV=3 EX_BASE=4 EX_REFUSED=5

# The identity every patch of the series carries.
readonly KSA_NAME='KVM s390-arm64 Developers'
readonly KSA_EMAIL='kvm-s390-arm64@example.org'

# shellcheck disable=SC2034
# The cache (the imported base, ccache, tools built here): never a shared
# directory such as /tmp when neither XDG_CACHE_HOME nor HOME is set.
if [[ ${XDG_CACHE_HOME:-} == /* ]]; then
	# The XDG spec: a relative XDG_CACHE_HOME is to be ignored.
	KSA_CACHE=$XDG_CACHE_HOME/kvm-s390-arm64
elif [ -n "${HOME:-}" ]; then
	KSA_CACHE=$HOME/.cache/kvm-s390-arm64
else
	KSA_CACHE=$KSA_ROOT/build/cache
fi
KSA_START=${KSA_START:-$(date +%s)}

log() { printf '%s: %s\n' "$KSA_PROG" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$KSA_PROG" "$*" >&2; }

# die CODE MESSAGE...: one line naming what failed and what to do.
die() {
	local code=$1
	shift
	printf '%s: error: %s\n' "$KSA_PROG" "$*" >&2
	exit "$code"
}

usage_error() {
	die "$EX_USAGE" "$* (see '$KSA_PROG --help')"
}

# Paths removed when the script ends (on_exit_remove), whatever the reason.
KSA_REMOVE=()

# on_exit_remove PATH...: remove PATH (rm -rf) when the script exits: after
# success, an error or an interruption (with guard_exit).
on_exit_remove() { KSA_REMOVE+=("$@"); }

# guard_exit: the script ends only with a documented exit code (EX_*, or
# 128+N when it is interrupted by signal N: 129 HUP, 130 INT, 143 TERM),
# and removes the on_exit_remove paths on every way out.  A code no script
# means (git's 128, bash's 127 or 255, a child killed by a signal) becomes
# EX_FAIL, or EX_ENV for a command that cannot be run, with one line naming
# the command.  Called by the scripts whose exit codes are documented; not
# done for every script that sources this file, since bash runs a signal
# trap only after the foreground command ends, which would hold up the
# interruption of a long build.
guard_exit() {
	set -E
	trap 'ksa_failed "$LINENO"' ERR
	trap 'ksa_exit' EXIT
	trap 'ksa_interrupted HUP 129' HUP
	trap 'ksa_interrupted INT 130' INT
	trap 'ksa_interrupted TERM 143' TERM
}

# ksa_failed LINENO: note where the command that failed is (the ERR trap,
# which runs where set -e stops): the innermost line in the script itself,
# not in this library.
KSA_FAILED_AT=
ksa_failed() {
	local i=1 line=$1
	while [ "$i" -lt "$((${#BASH_SOURCE[@]} - 1))" ] && [ "${BASH_SOURCE[$i]}" = "${BASH_SOURCE[0]}" ]; do
		line=${BASH_LINENO[$i]}
		i=$((i + 1))
	done
	KSA_FAILED_AT="line $line of ${BASH_SOURCE[$i]##*/}"
}

KSA_SIGNALLED=
ksa_interrupted() {
	KSA_SIGNALLED=$2
	log "interrupted (SIG$1): stopping"
	exit "$2"
}

ksa_exit() {
	local rc=$? cmd=$BASH_COMMAND w at=${KSA_FAILED_AT:-$KSA_PROG}
	local -a words
	trap - EXIT HUP INT TERM
	[ "${#KSA_REMOVE[@]}" = 0 ] || rm -rf -- "${KSA_REMOVE[@]}" 2>/dev/null || true
	if [ -n "$KSA_SIGNALLED" ] || [ "$rc" -le "$EX_REFUSED" ]; then
		exit "$rc"
	fi
	# The command: its first word after the variable assignments, or all
	# of it (an assignment such as x=$(...)), cut short.
	read -r -a words <<<"$cmd" || true
	for w in "${words[@]}"; do
		[[ $w =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { cmd=$w; break; }
		[[ $w != *"\$("* ]] || break
	done
	[ "${#cmd}" -le 60 ] || cmd="${cmd:0:57}..."
	if [ "$rc" = 126 ] || [ "$rc" = 127 ]; then
		printf '%s: error: %s\n' "$KSA_PROG" "'$cmd' could not be run (exit $rc, $at): a tool is missing, run scripts/setup.sh" >&2
		exit "$EX_ENV"
	elif [ "$rc" -gt 128 ] && [ "$rc" -le 192 ]; then
		printf '%s: error: %s\n' "$KSA_PROG" "'$cmd' was killed by signal $((rc - 128)) (exit $rc, $at)" >&2
	else
		printf '%s: error: %s\n' "$KSA_PROG" "'$cmd' failed (exit $rc, $at): see its message above" >&2
	fi
	exit "$EX_FAIL"
}

# need_writable HINT PATH...: stop with EX_ENV, naming the path, unless each
# PATH is a directory the script can write in, or can be made as one (the
# nearest existing one above it is a writable directory).  Called before
# anything is changed, so that a read-only cache (a read-only file system,
# an immutable directory, a file where a directory should be: what stops
# root too) ends the script in one line instead of in git's or bash's
# errors half-way.  HINT says what to do.
need_writable() {
	local hint=$1 p d
	shift
	for p in "$@"; do
		d=$p
		while [ ! -e "$d" ] && [ ! -L "$d" ]; do d=$(dirname "$d"); done
		[ -d "$d" ] || die "$EX_ENV" "$p cannot be made a directory: $d is not one ($hint)"
		{ [ -w "$d" ] && [ -x "$d" ]; } || die "$EX_ENV" "$d is not writable ($hint)"
	done
}

# Seconds since the script started, as M:SS.
elapsed() {
	local s=$(($(date +%s) - KSA_START))
	printf '%d:%02d' $((s / 60)) $((s % 60))
}

# progress N M WHAT: "[N/M 1:23] WHAT" on stderr.
progress() {
	printf '%s: [%s/%s %s] %s\n' "$KSA_PROG" "$1" "$2" "$(elapsed)" "$3" >&2
}

# need_cmd CMD[:DEBIAN-PACKAGE]...: stop unless every command is available.
need_cmd() {
	local spec cmd pkg
	for spec in "$@"; do
		cmd=${spec%%:*}
		pkg=${spec#*:}
		[ "$pkg" = "$spec" ] && pkg=$cmd
		command -v "$cmd" >/dev/null 2>&1 ||
			die "$EX_ENV" "'$cmd' is not installed: run scripts/setup.sh (Debian package $pkg)"
	done
}

# git without the user's global or system configuration, for everything whose
# result must be the same on every machine (imports, exports).
hgit() {
	GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_ATTR_NOSYSTEM=1 \
		git -c core.autocrlf=false -c core.safecrlf=false \
		-c core.attributesFile=/dev/null -c core.hooksPath=/dev/null \
		-c core.symlinks=true -c core.filemode=true -c core.ignorecase=false \
		-c core.precomposeunicode=false -c gc.auto=0 \
		-c commit.gpgsign=false -c am.messageid=false -c am.keepcr=false \
		-c mailinfo.scissors=false -c apply.whitespace=nowarn -c rerere.enabled=false "$@"
}

# base_get KEY: the value of "KEY: value" in the project's base-commit file.
base_get() {
	local file=$KSA_ROOT/base-commit value
	[ -r "$file" ] || die "$EX_BASE" "$file is missing: restore it from git (git checkout -- base-commit)"
	value=$(sed -n "s/^$1:[[:space:]]*//p" "$file" | head -n 1)
	[ -n "$value" ] || die "$EX_BASE" "$file has no '$1:' line: restore it from git"
	printf '%s\n' "$value"
}

# The series file as a list of patch names, comments and blank lines dropped.
series_list() {
	local file=$KSA_ROOT/series
	[ -r "$file" ] || die "$EX_FAIL" "$file is missing: run scripts/export.sh from a work tree, or restore it from git"
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$file"
}

# series_checked: the series as series_list, after checking it against
# patches/: every entry exists once, every patch file is listed, the cover
# letter is there.  Exits with EX_USAGE naming the first problem.
series_checked() {
	local p f lineno txt
	local -a patches
	local -A listed=()
	txt=$(series_list) || exit
	mapfile -t patches < <(printf '%s' "$txt" | sed '/^$/d')
	for p in "${patches[@]}"; do
		# The line of the file, comments and blank lines counted.
		lineno=$(sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$KSA_ROOT/series" | grep -nxF -m 1 -- "$p" | cut -d: -f1)
		[ -f "$KSA_ROOT/patches/$p" ] ||
			die "$EX_USAGE" "series line $lineno names patches/$p, which does not exist: correct 'series' or run scripts/export.sh"
		[ -z "${listed[$p]:-}" ] || die "$EX_USAGE" "series names $p twice: remove one line"
		listed[$p]=1
	done
	[ -f "$KSA_ROOT/patches/0000-cover-letter.patch" ] ||
		die "$EX_USAGE" "patches/0000-cover-letter.patch is missing: restore it from git"
	for f in "$KSA_ROOT"/patches/*.patch; do
		f=${f##*/}
		[ "$f" = 0000-cover-letter.patch ] || [ -n "${listed[$f]:-}" ] ||
			die "$EX_USAGE" "patches/$f is not named in series: add it to series or remove it"
	done
	printf '%s\n' "${patches[@]}"
}

# is_git_work_tree DIR: true if DIR is the top of a git work tree (or worktree).
is_git_work_tree() {
	[ -e "$1/.git" ] && [ "$(git -C "$1" rev-parse --show-toplevel 2>/dev/null)" = "$(cd "$1" && pwd -P)" ]
}

# Default location of the kernel work tree.
KSA_WORK_TREE=${KSA_WORK_TREE:-$KSA_ROOT/build/linux}
KSA_BRANCH=${KSA_BRANCH:-kvm-s390-arm64}

# --- the kernel work tree -------------------------------------------------

# wt_git ARGS...: git in the work tree, committing as the project identity.
wt_git() {
	GIT_COMMITTER_NAME=$KSA_NAME GIT_COMMITTER_EMAIL=$KSA_EMAIL \
		git -C "$KSA_WORK_TREE" "$@"
}

# The file in the work tree's git directory that records what the tooling
# last did there: "applying BASE", "conflict PATCH", "applied TIP" or
# "exported TIP".
wt_state_file() {
	wt_git rev-parse --path-format=absolute --git-path kvm-s390-arm64-state
}

wt_state() {
	local f
	f=$(wt_state_file)
	if [ -r "$f" ]; then cat "$f"; else echo "unknown -"; fi
}

wt_set_state() {
	printf '%s\n' "$*" >"$(wt_state_file)"
}

# product_manifest: a sha256 line for series and every file in patches/,
# what apply.sh applied from and export.sh wrote last.
product_manifest() {
	(cd "$KSA_ROOT" && sha256sum series patches/*.patch 2>/dev/null) || true
}

# The manifest of patches/ and series as the work tree last saw them.
wt_manifest_file() {
	wt_git rev-parse --path-format=absolute --git-path kvm-s390-arm64-manifest
}

# lock_work_tree: one apply.sh or export.sh at a time per work tree.  The
# lock is inherited by git am, so it is held until an interrupted apply's
# git has ended too.
lock_work_tree() {
	exec 9>"$(wt_git rev-parse --path-format=absolute --git-path kvm-s390-arm64.lock)"
	flock -n 9 ||
		die "$EX_REFUSED" "another apply.sh or export.sh, or the git am of an interrupted apply, is still running in $KSA_WORK_TREE: wait for it to end"
}

# The operation git has in progress in the work tree, if any.
wt_in_progress() {
	local d
	for d in rebase-apply rebase-merge MERGE_HEAD CHERRY_PICK_HEAD REVERT_HEAD; do
		if [ -e "$(wt_git rev-parse --path-format=absolute --git-path "$d")" ]; then
			case $d in
			rebase-apply)
				if [ -e "$(wt_git rev-parse --path-format=absolute --git-path rebase-apply/applying)" ]; then
					echo "git am"
				else
					echo "git rebase"
				fi
				;;
			rebase-merge) echo "git rebase" ;;
			MERGE_HEAD) echo "git merge" ;;
			CHERRY_PICK_HEAD) echo "git cherry-pick" ;;
			REVERT_HEAD) echo "git revert" ;;
			esac
			return 0
		fi
	done
	return 1
}

# wt_dirty: true if tracked files have uncommitted changes.
wt_dirty() {
	local out
	out=$(wt_git status --porcelain --untracked-files=no) ||
		die "$EX_FAIL" "git status failed in $KSA_WORK_TREE: repair the work tree or move it away"
	[ -n "$out" ]
}

# The cover letter text (subject, blank line, body) of a 0000 patch file, in
# the form of a branch description for 'format-patch --cover-from-description'.
cover_description() {
	awk -v shortlog="^$KSA_NAME \\([0-9]+\\):\$" '
		BEGIN { hdr = 1 }
		hdr && /^Subject: / { sub(/^Subject: (\[[^]]*\] )?/, ""); subj = $0; insubj = 1; next }
		hdr && insubj && /^[ \t]/ { sub(/^[ \t]+/, " "); subj = subj $0; next }
		hdr { insubj = 0 }
		hdr && /^$/ { hdr = 0; next }
		hdr { next }
		$0 ~ shortlog { exit }
		n == 0 && /^$/ { next }
		{ body[n++] = $0 }
		END {
			while (n > 0 && body[n - 1] == "") n--
			print subj
			if (n) print ""
			for (i = 0; i < n; i++) print body[i]
		}' "$1"
}

# backup_name BRANCH: a new branch name BRANCH-backup-DATE that is not taken.
backup_name() {
	local name n=1
	name=$1-backup-$(date -u +%Y%m%d-%H%M%S)
	while wt_git rev-parse -q --verify "refs/heads/$name" >/dev/null; do
		n=$((n + 1))
		name=$1-backup-$(date -u +%Y%m%d-%H%M%S)-$n
	done
	printf '%s\n' "$name"
}

# ksa_am TREE PATCH...: apply the patches on TREE's HEAD with 'git am -3',
# as every tool of the project does: committed as the project identity with
# the committer date taken from the author date (so that a commit id depends
# only on the patches), and without the user's global or system git
# configuration (commit.gpgsign, hooks, am.* settings).  git's output goes
# to stderr.  If a patch does not apply, prints the 1-based position of its
# file among the arguments (a file may hold more than one mail) and returns
# 1 with git am stopped on it.
ksa_am() {
	local tree=$1 next f i=0 mails=0 m split
	shift
	GIT_COMMITTER_NAME=$KSA_NAME GIT_COMMITTER_EMAIL=$KSA_EMAIL \
		hgit -C "$tree" am -q -3 --committer-date-is-author-date "$@" >&2 && return 0
	next=$(cat "$(git -C "$tree" rev-parse --path-format=absolute --git-path rebase-apply/next)" 2>/dev/null || echo 1)
	split=$(mktemp -d "${TMPDIR:-/tmp}/ksa-am.XXXXXX")
	for f in "$@"; do
		i=$((i + 1))
		# As git am splits it (git mailsplit prints the number of mails).
		m=$(git mailsplit -o"$split" "$f" 2>/dev/null || echo 1)
		rm -f "$split"/*
		mails=$((mails + (m > 0 ? m : 1)))
		[ "$mails" -lt "$next" ] || break
	done
	rm -rf "$split"
	echo "$i"
	return 1
}

# The branch description as set by apply.sh or the developer.
wt_description() {
	wt_git config --get "branch.$KSA_BRANCH.description" || true
}

# --- Debian source packages ---------------------------------------------

# The Debian archive this machine installs from, as "URI KEYRING".
debian_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && uri != "" && uri !~ /security/ && suites ~ /(^| )[a-z]+( |$)/) {
					print uri, (key == "" ? "-" : key); found = 1; exit
				}
				types = uri = suites = key = ""
			}
			/^[[:space:]]*$/ { flush(); next }
			/^Types:/ { sub(/^Types:[[:space:]]*/, ""); types = $0 }
			/^URIs:/ { uri = $2 }
			/^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
			/^Signed-By:/ { key = $2 }
			END { if (!found) flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		sed -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && $2 !~ /security/ && $3 ~ /^[a-z]+$/ { print $2, "-" }'
	done
}

# apt_source_setup DIR SUITES: a private apt configuration in DIR with
# deb-src entries for SUITES of this machine's Debian mirror, its index
# fetched; sets KSA_APT_OPTS (the options for apt-get and apt-cache) and
# KSA_APT_URI.  The machine's own package sources are not changed.
apt_source_setup() {
	local dir=$1 suites=$2 mirror key suite
	need_cmd apt-get:apt
	mirror=$(debian_mirror | head -n 1)
	[ -n "$mirror" ] || die "$EX_ENV" "no Debian mirror found in /etc/apt: nothing to download from"
	KSA_APT_URI=${mirror% *}
	key=${mirror#* }
	[ "$key" != - ] || key=/usr/share/keyrings/debian-archive-keyring.gpg
	rm -rf "$dir"
	mkdir -p "$dir/lists/partial" "$dir/parts" "$dir/cache/archives/partial"
	for suite in $suites; do
		printf 'deb-src [signed-by=%s] %s %s main\n' "$key" "$KSA_APT_URI" "$suite"
	done >"$dir/sources.list"
	KSA_APT_OPTS=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o "Dir::Etc::sourceparts=$dir/parts"
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o "Debug::NoLocking=1")
	apt-get -q "${KSA_APT_OPTS[@]}" update >"$dir/update.log" 2>&1 ||
		die "$EX_ENV" "apt-get update of the source index failed (log: $dir/update.log)"
}

# --- kernel builds --------------------------------------------------------

# Build outputs live under build/out/<arch>-<config>, one per architecture
# and config fragment, so that every build is incremental.
KSA_OUT=${KSA_OUT:-$KSA_ROOT/build/out}
export KBUILD_BUILD_TIMESTAMP=${KBUILD_BUILD_TIMESTAMP:-2026-01-01}
export KBUILD_BUILD_USER=kvm-s390-arm64 KBUILD_BUILD_HOST=build
export CCACHE_DIR=${CCACHE_DIR:-$KSA_CACHE/ccache}
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-time_macros}

# cross_prefix ARCH: the Debian cross-compiler prefix for a kernel ARCH
# (empty for the host), or nothing and status 1 if Debian has none.
cross_prefix() {
	local host p
	host=$(uname -m)
	case $1 in
	x86_64) p=x86_64-linux-gnu- ;;
	arm64) p=aarch64-linux-gnu- ;;
	s390) p=s390x-linux-gnu- ;;
	riscv) p=riscv64-linux-gnu- ;;
	powerpc) p=powerpc64le-linux-gnu- ;;
	mips) p=mips64el-linux-gnuabi64- ;;
	loongarch) p=loongarch64-linux-gnu- ;;
	*) return 1 ;;
	esac
	case $1:$host in x86_64:x86_64 | arm64:aarch64 | s390:s390x) p= ;; esac
	command -v "${p}gcc" >/dev/null 2>&1 || return 1
	printf '%s\n' "$p"
}

# kmake SRC OUT ARCH ARGS...: make in the kernel tree SRC with output OUT.
kmake() {
	local src out=$2 arch=$3 cross
	src=$(realpath "$1")
	mkdir -p "$out"
	out=$(realpath "$out")
	shift 3
	cross=$(cross_prefix "$arch") || die "$EX_ENV" "no cross compiler for $arch: run scripts/setup.sh"
	# ccache sees paths relative to the build directory (its base_dir is
	# the directory that holds the tree and the build directory), so that
	# two checkouts of the project, or CI's fresh clone, share the cache.
	# The compiler then gets those relative paths too: warnings and the
	# dependency files name sources as ../../verify/... (see
	# verify-bisect's normalize and build_inputs).  s390 passes
	# -Wa,-I$(srctree)/arch/s390/include, which ccache does not rewrite:
	# its objects are shared only by builds of the same checkout.
	# Whatever this make does, the directory is no longer known to hold a
	# given commit's build: verify-bisect writes .ksa-state after a build
	# of its own, and its same-tokens check needs it.
	rm -f "$out/.ksa-state"
	local basedir=${CCACHE_BASEDIR:-$(common_dir "$src" "$out")}
	# Not /, which ccache's manual warns against: then no base_dir.
	[ "$basedir" != / ] || basedir=
	CCACHE_BASEDIR=$basedir \
		make -s -C "$src" O="$out" ARCH="$arch" CROSS_COMPILE="$cross" \
		CC="ccache ${cross}gcc" HOSTCC="ccache gcc" -j"$(nproc)" "$@"
}

# common_dir A B: the deepest directory that holds both absolute paths.
common_dir() {
	local a=$1/ b=$2/ c=/
	while [ "${a#/}" != "" ]; do
		local head=${a#/}
		head=/${head%%/*}
		case $b in "$c${head#/}/"*) c=$c${head#/}/ a=${a#"$head"} ;; *) break ;; esac
	done
	printf '%s\n' "${c%/}" | sed 's|^$|/|'
}

# One configuration per architecture serves every kernel build of the
# project: tinyconfig + configs/ARCH-kvm.config (what the series needs
# built) + configs/boot-ARCH.config (what booting it under QEMU and the
# runtime tests need).  verify-bisect checks these builds and
# tests/runtime.sh boots them, in the same build directory
# (KSA_OUT/ARCH-kvm), so each kernel is built once.  configs/tests-ARCH.config
# adds what only the test series tests/patches provides (its KUnit suites):
# the runtime kernels have it on top, a change of a few objects.
# arch_frags ARCH [tests]: the fragments, one path a line.
arch_frags() {
	local f
	for f in "$1-kvm" "boot-$1" ${2:+"tests-$1"}; do
		[ ! -f "$KSA_ROOT/configs/$f.config" ] || printf '%s\n' "$KSA_ROOT/configs/$f.config"
	done
}

# The flags of every kernel build: W=1, so that verify-bisect's warnings
# are seen; the same in every build of a directory, since a change of
# flags recompiles everything.  W=1 also runs kernel-doc on every C file
# it compiles; that is replaced by verify-bisect's kernel-doc check, which
# runs kernel-doc -Wall on each file a patch changes, before and after it
# (kernel-doc reads only the file it is given, so a file that is only
# recompiled has the same findings as before): KERNELDOC=/dev/null makes
# Kbuild's "python3 \$(KERNELDOC) ..." an empty script.
KSA_KBUILD_FLAGS=(W=1 KERNELDOC=/dev/null)

# kbuild SRC OUT ARCH TARGET...: kmake with the project's build flags.
kbuild() {
	local src=$1 out=$2 arch=$3
	shift 3
	kmake "$src" "$out" "$arch" "${KSA_KBUILD_FLAGS[@]}" "$@"
}

# build_lock: take the lock of the build directories (KSA_OUT) and the work
# tree verify-bisect and the runtime tests share, or stop.
build_lock() {
	mkdir -p "$KSA_OUT"
	exec 7>"$KSA_OUT/.lock"
	flock -n 7 || die "$EX_ENV" "another verify-bisect.sh or tests/runtime.sh builds in $KSA_OUT: wait for it to finish"
}

# frags_key FRAGMENT...: what .ksa-configured holds for these fragments.
frags_key() { cat "$@" | sha256sum | cut -c1-16; }

# kconfig_for SRC OUT ARCH FRAGMENT...: configure OUT with kconfig unless it
# already is for these fragments with this content (OUT/.ksa-configured
# holds their hash), so that builds stay incremental.
kconfig_for() {
	local src=$1 out=$2 arch=$3 key
	shift 3
	key=$(frags_key "$@")
	if [ "$(cat "$out/.ksa-configured" 2>/dev/null)" = "$key" ]; then
		# The tree may have moved to another commit since: take its new
		# symbols' defaults (syncconfig would ask on stdin) and check again.
		kmake "$src" "$out" "$arch" olddefconfig </dev/null >/dev/null && kconfig_check "$out" "$@"
		return
	fi
	rm -f "$out/.ksa-configured"
	kconfig "$src" "$out" "$arch" "$@" </dev/null || return
	echo "$key" >"$out/.ksa-configured"
}

# kconfig SRC OUT ARCH FRAGMENT...: tinyconfig plus the fragments, checked
# with kconfig_check.  The tree's scripts/kconfig/merge_config.sh merges
# fragments the same way, but a value that does not take (a missing
# dependency) is only a warning there and the exit code is 0; here it
# fails, so a fragment cannot silently stop configuring what it names.
kconfig() {
	local src=$1 out arch=$3 frag
	mkdir -p "$2"
	out=$(realpath "$2")
	shift 3
	kmake "$src" "$out" "$arch" tinyconfig >/dev/null
	# The fragments' options replace tinyconfig's lines (no "override"
	# warnings), then are appended in order: the last fragment wins.
	awk 'function opt(l) { if (match(l, /CONFIG_[A-Za-z0-9_]+/)) return substr(l, RSTART, RLENGTH); return "" }
	     FILENAME != ARGV[ARGC - 1] { if ($0 ~ /^(# )?CONFIG_/) drop[opt($0)] = 1; next }
	     !($0 ~ /^(# )?CONFIG_/ && opt($0) in drop)' "$@" "$out/.config" >"$out/.config.tiny"
	grep -hE '^(CONFIG_|# CONFIG_)' "$@" >>"$out/.config.tiny"
	mv "$out/.config.tiny" "$out/.config"
	kmake "$src" "$out" "$arch" olddefconfig >/dev/null
	kconfig_check "$out" "$@"
}

# kconfig_check OUT FRAGMENT...: every option a fragment sets has that value
# in OUT/.config (olddefconfig silently drops what it cannot satisfy).
kconfig_check() {
	local out=$1 frag line opt want got bad=
	shift
	for frag in "$@"; do
		while IFS= read -r line; do
			case $line in
			CONFIG_*=*) opt=${line%%=*} want=${line#*=} ;;
			'# CONFIG_'*' is not set') opt=${line#\# } opt=${opt%% *} want=n ;;
			*) continue ;;
			esac
			got=$(sed -n "s/^$opt=//p" "$out/.config")
			[ -n "$got" ] || got=n
			[ "$got" = "$want" ] || bad="$bad $opt=$got(want $want)"
		done <"$frag"
	done
	[ -z "$bad" ] || die "$EX_FAIL" "config $out does not take its fragments:$bad (missing dependency in ${*##*/}?)"
	return 0
}

# --- the real clients' header scripts ---------------------------------------
# The header import scripts of two VMMs nobody here wrote
# (../shared/clients/README.md): kvmtool's util/update_headers.sh, which
# copies files of the kernel's source tree into kvmtool's, and QEMU's
# scripts/update-linux-headers.sh, a headers_install for every architecture
# with a KVM header, then chosen installed headers copied.  Run on a kernel
# tree by the clients suite (tests/runtime.sh, base and tip) and by
# verify-bisect's clients check (every step that touches what they read),
# into one cache, per commit: what one of them made the other one uses.
KSA_CLIENTS_DIR=${KSA_CLIENTS:-$KSA_ROOT/../shared/clients}
KSA_KVMTOOL_TAR=kvmtool-b48735e5.tar.xz
KSA_QEMU_HDR=qemu-update-linux-headers.sh
KSA_CLIENTS_CACHE=$(realpath -m "${KSA_RUNTIME_CACHE:-$KSA_ROOT/build/runtime-cache}")

# What "make headers_install" reads, as paths of the kernel tree (an
# extended regular expression): the UAPI directories with their Kbuild
# files, usr/, scripts/ (the install and unifdef scripts, Makefile.*,
# Kbuild.include, the host tools), the top Makefile and the files at the
# top of each architecture (its Makefile and what that includes: mips's
# Kbuild.platforms and */Platform), the syscall tables and their
# Makefile.syscalls (unistd headers).  The uapi and clients checks of
# verify-bisect and scripts/forecast.sh decide from it.
# shellcheck disable=SC2034 # used by the scripts that source this file
KSA_HEADERS_INPUTS='(^|/)uapi/|^usr/|^scripts/|^Makefile$|^arch/[^/]+/[^/]+$|^arch/mips/[^/]+/Platform$|^arch/[^/]+/(tools|kernel/syscalls|entry/syscalls)/|^arch/[^/]+/kernel/Makefile\.syscalls$'
# ... and what the clients' header scripts read besides: QEMU's takes an
# architecture that has an asm/kvm.h, and copies COPYING and LICENSES/.
# shellcheck disable=SC2034
KSA_CLIENTS_INPUTS="$KSA_HEADERS_INPUTS"'|^arch/[^/]+/include/asm/kvm\.h$|^COPYING$|^LICENSES/'

# need_clients: both clients are there, or exit 3 naming the missing one.
need_clients() {
	local c
	for c in "$KSA_KVMTOOL_TAR" "$KSA_QEMU_HDR"; do
		[ -f "$KSA_CLIENTS_DIR/$c" ] || die "$EX_ENV" "$KSA_CLIENTS_DIR/$c is missing (the real clients, ../shared/clients): set KSA_CLIENTS"
	done
}

# clients_key: what the outputs depend on besides the kernel tree: the two
# clients and how they are run.
clients_key() { { cat "$KSA_CLIENTS_DIR/$KSA_KVMTOOL_TAR" "$KSA_CLIENTS_DIR/$KSA_QEMU_HDR"; declare -f client_headers_make; } | sha256sum | cut -c1-12; }

# client_headers_dir KIND COMMIT: where KIND's (kvmtool or qemu) output for
# COMMIT is kept: DIR/kvmtool (kvmtool's tree after its script) or DIR/out
# (QEMU's output), the script's exit status in DIR/rc, its output in
# DIR/log, and DIR/done when the script succeeded (a failure is run again).
client_headers_dir() { printf '%s/headers-%s-%s-%s' "$KSA_CLIENTS_CACHE" "$1" "${2:0:12}" "$(clients_key)"; }

# client_headers_make KIND TREE DIR: run KIND's script on the kernel tree
# TREE (at the commit DIR is for) into DIR, made as DIR.tmp and renamed.
# QEMU's runs without the -e of its #! line: with it, it fails on v7.1.8
# itself (it copies riscv's asm/unistd_32.h, which v7.1.8 no longer
# installs; measured 2026-12-04), so what it wrote is checked instead
# (qemu_headers_ok, and the same output as on the base).  Its temporary
# directory is inside, so that an interrupted run leaves nothing in /tmp.
# The kernel's Makefile refuses a path with a space or a colon.
client_headers_make() {
	local kind=$1 tree=$2 dir=$3 rc=0
	case $tree$dir in *[[:space:]:]*) die "$EX_ENV" "the kernel's headers_install takes no space or colon in a path: $tree, $dir" ;; esac
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	case $kind in
	kvmtool)
		tar -xJf "$KSA_CLIENTS_DIR/$KSA_KVMTOOL_TAR" -C "$dir.tmp" || die "$EX_ENV" "cannot unpack $KSA_CLIENTS_DIR/$KSA_KVMTOOL_TAR"
		[ -f "$dir.tmp/kvmtool/util/update_headers.sh" ] || die "$EX_ENV" "$KSA_KVMTOOL_TAR holds no kvmtool/util/update_headers.sh"
		(cd "$dir.tmp/kvmtool" && sh util/update_headers.sh "$tree") >"$dir.tmp/log" 2>&1 || rc=$?
		;;
	qemu)
		mkdir -p "$dir.tmp/out" "$dir.tmp/tmp"
		TMPDIR=$dir.tmp/tmp sh "$KSA_CLIENTS_DIR/$KSA_QEMU_HDR" "$tree" "$dir.tmp/out" >"$dir.tmp/log" 2>&1 || rc=$?
		rm -rf "$dir.tmp/tmp"
		;;
	*) die "$EX_USAGE" "client_headers_make: unknown client '$kind'" ;;
	esac
	echo "$rc" >"$dir.tmp/rc"
	[ "$rc" != 0 ] || touch "$dir.tmp/done"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
}

# qemu_headers_ok DIR: QEMU's script succeeded and wrote what it is for
# (its exit status does not say that a headers_install installed
# anything): linux/kvm.h, asm-arm64/kvm.h and at least 100 files (127 on
# v7.1.8).  Prints the number of files, or what is wrong.
qemu_headers_ok() {
	local d=$1 n
	n=$(find "$d/out" -type f 2>/dev/null | wc -l)
	if [ "$(cat "$d/rc" 2>/dev/null)" = 0 ] && [ -f "$d/out/linux-headers/linux/kvm.h" ] &&
		[ -f "$d/out/linux-headers/asm-arm64/kvm.h" ] && [ "$n" -ge 100 ]; then
		echo "$n"
	else
		echo "exit $(cat "$d/rc" 2>/dev/null || echo '?'), $n files, linux/kvm.h $([ -f "$d/out/linux-headers/linux/kvm.h" ] || echo 'not ')written, asm-arm64/kvm.h $([ -f "$d/out/linux-headers/asm-arm64/kvm.h" ] || echo 'not ')written"
		return 1
	fi
}
