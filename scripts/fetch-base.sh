#!/usr/bin/env bash
# Obtain the pinned kernel base and import it deterministically into git.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
guard_exit

usage() {
	cat <<USAGE
Usage: $KSA_PROG [--tarball PATH | --git-tree DIR]

Make the pinned base of the series (see the file base-commit) available as a
git commit and print two lines: the git directory that holds it and its
commit id.  The base is taken, in this order, from:

  --git-tree DIR   a kernel git tree that has the base tag (nothing in it is
                   changed; the import commit is written as a new object)
  --tarball PATH   the Debian tarball named in base-commit
  the cache        an earlier import in \$XDG_CACHE_HOME/kvm-s390-arm64
  apt              a download with 'apt-get source --download-only' from a
                   deb-src entry derived from this machine's Debian mirror

The import is deterministic: every file of the tarball is added with
'git add -f', with the author, committer, dates and message of base-commit,
so its commit id is the same on every machine and is checked against
base-commit.  The environment variables KSA_BASE_TARBALL and
KSA_BASE_GIT_TREE are used when the options are not given.

  --new-pin        import --tarball into a scratch repository and print its
                   commit id without comparing it with import-commit: when
                   moving to a new base, edit the other lines of base-commit,
                   then write this id into it (the scratch repository
                   \$XDG_CACHE_HOME/kvm-s390-arm64/new-pin.* is removed on
                   every exit; one a killed run left, by the next run)

Exit codes: 0 done, 1 an operation failed, 2 bad usage, 3 a tool is missing,
the download failed or the cache is not writable, 4 the base does not match
base-commit (checksum or commit id); 130 or 143 interrupted (the scratch
directories are removed).
USAGE
}

tarball=${KSA_BASE_TARBALL:-}
tarball_from=KSA_BASE_TARBALL
git_tree=${KSA_BASE_GIT_TREE:-}
git_tree_from=KSA_BASE_GIT_TREE
new_pin=0
while [ $# -gt 0 ]; do
	case $1 in
	--tarball) [ $# -ge 2 ] || usage_error "--tarball needs a path"; tarball=$2 tarball_from=--tarball; shift 2 ;;
	--tarball=*) tarball=${1#*=} tarball_from=--tarball; shift ;;
	--git-tree) [ $# -ge 2 ] || usage_error "--git-tree needs a directory"; git_tree=$2 git_tree_from=--git-tree; shift 2 ;;
	--git-tree=*) git_tree=${1#*=} git_tree_from=--git-tree; shift ;;
	--new-pin) new_pin=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage_error "unknown argument '$1'" ;;
	esac
done

need_cmd git sha256sum:coreutils tar xz:xz-utils flock:util-linux

tag=$(base_get tag)
tar_name=$(base_get tarball)
tar_sha=$(base_get tarball-sha256)
want=$(base_get import-commit)
import_date=$(base_get import-date)
import_subject=$(base_get import-subject)

# commit_tree REPO TREE: the deterministic import commit for TREE in REPO.
commit_tree() {
	printf '%s\n\nImport of %s (sha256 %s),\n%s\n' "$import_subject" "$tar_name" "$tar_sha" \
		"the tarball of upstream tag $tag, every file added with 'git add -f'." |
		GIT_AUTHOR_NAME=$KSA_NAME GIT_AUTHOR_EMAIL=$KSA_EMAIL GIT_AUTHOR_DATE=$import_date \
		GIT_COMMITTER_NAME=$KSA_NAME GIT_COMMITTER_EMAIL=$KSA_EMAIL GIT_COMMITTER_DATE=$import_date \
		hgit --git-dir="$1" commit-tree --no-gpg-sign "$2"
}

check_commit() {
	[ "$1" = "$want" ] || [ "$new_pin" = 1 ] && return 0
	die "$EX_BASE" "$2 gives base commit $1, but base-commit expects $want: the base differs from the pinned one (see 'git diff $want $1' in the repository)"
}

from_git_tree() {
	local dir=$1 gitdir tree commit
	[ -d "$dir" ] || usage_error "$git_tree_from $dir: no such directory"
	gitdir=$(git -C "$dir" rev-parse --path-format=absolute --git-common-dir 2>/dev/null) ||
		usage_error "$git_tree_from $dir: not a git repository"
	need_writable "the import commit is written into it" "$gitdir/objects"
	tree=$(git --git-dir="$gitdir" rev-parse --verify -q "refs/tags/$tag^{tree}") ||
		die "$EX_BASE" "$dir has no tag $tag: fetch it first (git fetch --tags from a stable tree) or use --tarball"
	commit=$(commit_tree "$gitdir" "$tree")
	check_commit "$commit" "tag $tag of $dir"
	printf '%s\n%s\n' "$gitdir" "$commit"
}

cache_repo=$KSA_CACHE/linux.git

cached() {
	[ -d "$cache_repo" ] &&
		[ "$(hgit --git-dir="$cache_repo" rev-parse -q --verify "refs/kvm-s390-arm64/base^{commit}" 2>/dev/null)" = "$want" ]
}

check_sha() {
	local got
	log "checking the sha256 of $1"
	got=$(sha256sum "$1" | cut -d' ' -f1)
	[ "$got" = "$tar_sha" ] ||
		die "$EX_BASE" "$1 has sha256 $got, base-commit expects $tar_sha: the file is damaged or another version; remove it and fetch again"
}

download() {
	local dir=$KSA_CACHE/apt spec
	command -v apt-get >/dev/null 2>&1 ||
		die "$EX_ENV" "the base is not in the cache and there is no apt-get to download it: pass --tarball PATH (Debian's $tar_name) or --git-tree DIR (a kernel tree with tag $tag)"
	spec=$(base_get debian-source)
	apt_source_setup "$dir" "$(base_get debian-suites)"
	log "downloading $spec from $KSA_APT_URI (suites: $(base_get debian-suites))"
	mkdir -p "$dir/download"
	# The .dsc and debian.tar.xz of this version may no longer be served, so
	# apt can fail after fetching the tarball: its checksum is what counts.
	(cd "$dir/download" && apt-get -q "${KSA_APT_OPTS[@]}" source --download-only "$spec") >"$dir/source.log" 2>&1 || true
	[ -f "$dir/download/$tar_name" ] ||
		die "$EX_ENV" "apt did not fetch $tar_name (log: $dir/source.log): pass --tarball PATH or --git-tree DIR"
	printf '%s\n' "$dir/download/$tar_name"
}

import_tarball() {
	local tb=$1 tmp tree commit top n
	check_sha "$tb"
	need_writable "$cache_hint" "$cache_repo" "$cache_repo/objects" "$cache_repo/refs"
	[ -f "$cache_repo/HEAD" ] || hgit init -q --bare "$cache_repo"
	tmp=$(mktemp -d "$KSA_CACHE/import.XXXXXX")
	on_exit_remove "$tmp"
	mkdir "$tmp/tree"
	progress 1 3 "extracting $(basename "$tb")"
	tar -xJf "$tb" -C "$tmp/tree" --no-same-owner ||
		die "$EX_BASE" "$tb could not be extracted: remove it and fetch again"
	top=$(find "$tmp/tree" -mindepth 1 -maxdepth 1)
	if [ "$(printf '%s\n' "$top" | wc -l)" != 1 ] || [ ! -d "$top" ]; then
		die "$EX_BASE" "$tb does not hold exactly one top-level directory: it is not a kernel tarball"
	fi
	top=${top##*/}
	n=$(find "$tmp/tree/$top" -type f -o -type l | wc -l)
	progress 2 3 "adding $n files to git (git add -f)"
	GIT_INDEX_FILE=$tmp/index hgit --git-dir="$cache_repo" --work-tree="$tmp/tree/$top" add -f -A .
	tree=$(GIT_INDEX_FILE=$tmp/index hgit --git-dir="$cache_repo" write-tree)
	progress 3 3 "committing tree $tree"
	commit=$(commit_tree "$cache_repo" "$tree")
	check_commit "$commit" "the import of $tb"
	hgit --git-dir="$cache_repo" update-ref refs/kvm-s390-arm64/base "$commit"
	rm -rf "$tmp"
	log "imported $tag as $commit in $cache_repo"
}

# One import or download at a time per cache; the others wait for it and
# then find the base in the cache.
cache_hint="make it writable, or set XDG_CACHE_HOME to a writable directory"
need_writable "$cache_hint" "$KSA_CACHE"
mkdir -p "$KSA_CACHE"
exec 8>"$KSA_CACHE/.fetch-base.lock"
flock 8
# The lock is held, so a scratch directory left in the cache (an import's,
# a --new-pin repository) is one of a run that was killed.
rm -rf "$KSA_CACHE"/import.* "$KSA_CACHE"/new-pin.*

if [ "$new_pin" = 1 ]; then
	[ -n "$tarball" ] || usage_error "--new-pin needs --tarball"
	[ -f "$tarball" ] || usage_error "$tarball_from $tarball: no such file"
	cache_repo=$(mktemp -d "$KSA_CACHE/new-pin.XXXXXX")
	on_exit_remove "$cache_repo"
	import_tarball "$tarball" >&2
	hgit --git-dir="$cache_repo" rev-parse refs/kvm-s390-arm64/base
	rm -rf "$cache_repo"
	exit 0
fi
if [ -n "$git_tree" ]; then
	from_git_tree "$git_tree"
	exit 0
fi
if [ -n "$tarball" ]; then
	[ -f "$tarball" ] || usage_error "$tarball_from $tarball: no such file"
	if cached; then
		check_sha "$tarball"
	else
		import_tarball "$tarball"
	fi
elif ! cached; then
	dl=$(download)
	import_tarball "$dl"
	rm -rf "$KSA_CACHE/apt"
fi
# The cache is a bare repository whose work trees the other scripts add.
# GitPython, which the kernel's scripts/spdxcheck.py uses for checkpatch's
# SPDX check, takes core.bare from the common config and so calls each of
# those work trees bare, and spdxcheck then fails.  So the repository says
# it is not bare.  The rule that comes with it: use it with --git-dir only
# for commands that need no work tree (refs, objects, 'worktree add'), or
# with an explicit --work-tree; otherwise git would take the current
# directory for its work tree.  Its HEAD branch (master) counts as checked
# out, so work trees use other branch names.
[ "$(hgit --git-dir="$cache_repo" config --bool core.bare 2>/dev/null)" = false ] ||
	hgit --git-dir="$cache_repo" config core.bare false
printf '%s\n%s\n' "$cache_repo" "$want"
