#!/usr/bin/env bash
# Apply the series to the pinned base in a kernel work tree.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
guard_exit

usage() {
	cat <<USAGE
Usage: $KSA_PROG [--work-tree DIR] [--branch NAME] [--force]
                 [--tarball PATH | --git-tree DIR]

Create (or reset) the kernel work tree on branch NAME at the pinned base and
apply the patches named in 'series' with 'git am -3'.  The base is obtained
by scripts/fetch-base.sh (--tarball and --git-tree are passed to it); with
--git-tree the work tree is a 'git worktree' of that repository, otherwise of
the cached import.  The cover letter (patches/0000-cover-letter.patch)
becomes the branch description, which scripts/export.sh turns back into it.

  --work-tree DIR  the kernel work tree (default: build/linux)
  --branch NAME    the branch holding the series (default: kvm-s390-arm64)
  --force          discard uncommitted changes, untracked files where the
                   base or the series has files, commits not yet exported and
                   an unfinished 'git am'; they are kept, as a stash commit under
                   refs/kvm-s390-arm64/kept/ and
                   a backup branch NAME-backup-DATE, and named in the output

Running it again on an unchanged work tree starts over from the base; it
continues after an interrupted run.  It refuses to touch a work tree that
holds work which is not in patches/ unless --force is given.

Exit codes: 0 applied, 1 a patch does not apply (the work tree is left for
inspection) or an operation failed, 2 bad usage or a bad 'series', 3 a tool
is missing or the cache or work tree is not writable, 4 the base does not
match base-commit, 5 refused because work would be lost; 130 or 143
interrupted (run it again: it continues).
USAGE
}

force=0
fetch_args=()
while [ $# -gt 0 ]; do
	case $1 in
	--work-tree) [ $# -ge 2 ] || usage_error "--work-tree needs a directory"; KSA_WORK_TREE=$2; shift 2 ;;
	--branch) [ $# -ge 2 ] || usage_error "--branch needs a name"; KSA_BRANCH=$2; shift 2 ;;
	--force) force=1; shift ;;
	--tarball | --git-tree) [ $# -ge 2 ] || usage_error "$1 needs an argument"; fetch_args+=("$1" "$2"); shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage_error "unknown argument '$1'" ;;
	esac
done
git check-ref-format --branch "$KSA_BRANCH" >/dev/null 2>&1 || usage_error "'$KSA_BRANCH' is not a valid branch name"
need_cmd git flock:util-linux

# Check 'series' against patches/ before touching anything.
series_txt=$(series_checked) || exit
mapfile -t patches < <(printf '%s' "$series_txt" | sed '/^$/d')
manifest=$(product_manifest)
cover=$KSA_ROOT/patches/0000-cover-letter.patch
description=$(cover_description "$cover")
# The paths the patches write (add, change, rename or copy to).
patch_paths=$(for p in "${patches[@]}"; do
	sed -n -e 's|^+++ b/||p' -e 's|^rename to ||p' -e 's|^copy to ||p' "$KSA_ROOT/patches/$p"
done | sort -u)

base_out=$("$KSA_ROOT/scripts/fetch-base.sh" "${fetch_args[@]}")
base_gitdir=$(sed -n 1p <<<"$base_out")
base=$(sed -n 2p <<<"$base_out")

# Everything apply.sh writes in, checked before anything is changed.
need_writable "apply.sh adds the work tree and its branch there: make it writable, or set XDG_CACHE_HOME to a writable directory" \
	"$base_gitdir" "$base_gitdir/objects" "$base_gitdir/refs/heads" "$base_gitdir/worktrees"
need_writable "make it writable, or pass another --work-tree" "$KSA_WORK_TREE"
if [ -e "$KSA_WORK_TREE/.git" ] && wt_gitdir=$(git -C "$KSA_WORK_TREE" rev-parse --absolute-git-dir 2>/dev/null); then
	need_writable "the work tree's state and lock are kept there: make it writable, or pass another --work-tree" "$wt_gitdir"
fi

# in_the_way: the untracked files (ignored ones too) at paths that the
# reset to the base or the series writes: tracked by HEAD (a file taken out
# of the index, then edited) or by the base, or written by a patch.  The
# reset would overwrite them, and git am would stop on them.  One a line.
in_the_way() {
	comm -12 <(wt_git -c core.quotePath=false ls-files --others | sort -u) \
		<({ wt_git -c core.quotePath=false ls-tree -r --name-only HEAD 2>/dev/null || true
			wt_git -c core.quotePath=false ls-tree -r --name-only "$base"
			printf '%s\n' "$patch_paths"; } | sort -u)
}

# some_names LIST: the first lines of LIST on one line, and how many more.
some_names() {
	local n
	n=$(grep -c . <<<"$1")
	if [ "$n" -le 10 ]; then
		tr '\n' ' ' <<<"$1" | sed 's/ $//'
	else
		printf '%s and %d more\n' "$(head -n 10 <<<"$1" | tr '\n' ' ' | sed 's/ $//')" $((n - 10))
	fi
}

# kept_commit GIT-ARGS...: git commit-tree as the project identity, unsigned.
kept_commit() {
	GIT_AUTHOR_NAME=$KSA_NAME GIT_AUTHOR_EMAIL=$KSA_EMAIL wt_git commit-tree --no-gpg-sign "$@"
}

# stash_untracked STASH FILES MESSAGE: the stash commit STASH (if empty: one
# of HEAD and the index as they are) with the untracked FILES (one a line)
# as its third parent, as 'git stash --include-untracked' makes it, so that
# 'git stash apply' brings them back too.
stash_untracked() {
	local sha=$1 files=$2 msg=$3 index tree u i
	index=$(wt_git rev-parse --path-format=absolute --git-path kvm-s390-arm64-untracked.index)
	rm -f "$index"
	printf '%s\n' "$files" | GIT_INDEX_FILE=$index wt_git update-index --add --stdin
	tree=$(GIT_INDEX_FILE=$index wt_git write-tree)
	rm -f "$index"
	u=$(kept_commit -m "untracked files on $KSA_BRANCH: $msg" "$tree")
	if [ -z "$sha" ]; then
		tree=$(wt_git write-tree)
		i=$(kept_commit -p HEAD -m "index on $KSA_BRANCH: $msg" "$tree")
		kept_commit -p HEAD -p "$i" -p "$u" -m "On $KSA_BRANCH: $msg" "$tree"
	else
		kept_commit -p "$sha^1" -p "$sha^2" -p "$u" -m "$(wt_git log -1 --format=%B "$sha")" "$sha^{tree}"
	fi
}

# Keep what --force discards: uncommitted changes, and untracked files in
# the way, as a stash commit under refs/kvm-s390-arm64/kept/, commits on a
# backup branch.
keep_work() {
	local why=$1 stamp backup ref n sha in_way what=
	stamp=$(date -u +%Y%m%d-%H%M%S)
	if wt_in_progress >/dev/null; then
		wt_git am --quit 2>/dev/null || wt_git rebase --quit 2>/dev/null || true
		# A stopped 3-way am leaves unmerged entries, which git stash
		# refuses; the files, conflict markers and all, are kept.
		wt_git reset -q
	fi
	in_way=$(in_the_way)
	! wt_dirty || what="the uncommitted changes"
	[ -z "$in_way" ] || what="${what:+$what and }the untracked files at paths the base or the series has ($(some_names "$in_way"))"
	if [ -n "$what" ]; then
		# A ref of its own: stash@{N} is shared by every work tree of the
		# repository and moves with each new entry.
		ref=refs/kvm-s390-arm64/kept/$KSA_BRANCH-$stamp
		n=1
		while wt_git rev-parse -q --verify "$ref" >/dev/null; do
			n=$((n + 1))
			ref=refs/kvm-s390-arm64/kept/$KSA_BRANCH-$stamp-$n
		done
		sha=$(wt_git stash create "apply.sh --force $stamp" || true)
		[ -z "$in_way" ] || sha=$(stash_untracked "$sha" "$in_way" "apply.sh --force $stamp")
		[ -n "$sha" ] ||
			die "$EX_REFUSED" "git stash create cannot keep the uncommitted changes in $KSA_WORK_TREE (a file added with git add -N?): commit or remove them, then run again"
		wt_git update-ref "$ref" "$sha"
		if [ -n "$in_way" ]; then
			# Kept, so out of the way: reset --hard then writes HEAD's
			# files, and git am finds no file where a patch adds one.
			(cd "$KSA_WORK_TREE" && xargs -d '\n' rm -f -- <<<"$in_way")
		fi
		wt_git reset -q --hard
		log "kept $what as $ref in the base repository $(wt_git rev-parse --path-format=absolute --git-common-dir) (it holds the work branches too: not a cache to delete); see them with 'git stash show -p${in_way:+ --include-untracked} $ref', take them back with 'git stash apply $ref'"
	fi
	if [ "$why" = commits ]; then
		backup=$(backup_name "$KSA_BRANCH")
		wt_git branch -q "$backup" HEAD
		wt_git config "branch.$backup.description" "$(wt_description)"
		log "kept the earlier commits as branch $backup (with the cover letter as its description)"
	fi
}

prepare_existing() {
	local state status tip op ra in_way kept=0
	is_git_work_tree "$KSA_WORK_TREE" ||
		die "$EX_REFUSED" "$KSA_WORK_TREE exists but is not a git work tree: move it away or pass --work-tree"
	# Nothing is touched (no stash, no backup branch) in a tree of another
	# repository, such as the project checkout itself.
	[ "$(realpath "$(git -C "$KSA_WORK_TREE" rev-parse --path-format=absolute --git-common-dir)")" = "$(realpath "$base_gitdir")" ] ||
		die "$EX_REFUSED" "$KSA_WORK_TREE is a work tree of $(git -C "$KSA_WORK_TREE" rev-parse --path-format=absolute --git-common-dir), not of the base repository $base_gitdir: pass another --work-tree"
	lock_work_tree
	state=$(wt_state)
	status=${state%% *}
	tip=${state#* }
	tip=${tip%% *}
	if [ "$status" = applying ]; then
		# The lock is ours, so no git of an earlier apply is still running:
		# lock files it left when it was killed are stale.
		rm -f "$(wt_git rev-parse --path-format=absolute --git-path index.lock)" \
			"$(wt_git rev-parse --path-format=absolute --git-path HEAD.lock)" \
			"$(wt_git rev-parse --path-format=absolute --git-common-dir)/refs/heads/$KSA_BRANCH.lock"
	fi
	if op=$(wt_in_progress); then
		ra=$(wt_git rev-parse --path-format=absolute --git-path rebase-apply)
		if [ "$status" = applying ] && [ -d "$ra" ]; then
			# apply.sh runs nothing but git am there; killed as git am
			# starts, it leaves a rebase-apply/ that git takes for a rebase.
			log "continuing after an interrupted apply: dropping its unfinished 'git am'"
			wt_git am --abort >/dev/null 2>&1 || wt_git am --quit >/dev/null 2>&1 || rm -rf "$ra"
			# Killed in the middle of a patch, git am --abort can fail and
			# leave that patch's changes: kept, not lost, and not a reason
			# to refuse.
			if wt_dirty; then keep_work changes; fi
		elif [ "$force" = 1 ]; then
			keep_work commits
			kept=1
		else
			die "$EX_REFUSED" "$op is in progress in $KSA_WORK_TREE: finish it (then scripts/export.sh) or rerun with --force, which keeps the commits on a backup branch"
		fi
	fi
	if wt_dirty && [ "$status" = applying ]; then
		# Killed in a checkout or reset of apply.sh's own: kept, not lost.
		keep_work changes
	fi
	if wt_dirty; then
		[ "$force" = 1 ] ||
			die "$EX_REFUSED" "$KSA_WORK_TREE has uncommitted changes: commit them into the right patch and run scripts/export.sh, or rerun with --force to keep them under refs/kvm-s390-arm64/kept/"
		keep_work changes
	fi
	in_way=$(in_the_way)
	if [ -n "$in_way" ]; then
		# After a kill, files git am wrote and had not yet added: kept.
		[ "$force" = 1 ] || [ "$status" = applying ] ||
			die "$EX_REFUSED" "$KSA_WORK_TREE has untracked files where the base or the series has files, which the reset would overwrite ($(some_names "$in_way")): move them away, or rerun with --force to keep them under refs/kvm-s390-arm64/kept/"
		keep_work changes
	fi
	if [ "$(wt_git symbolic-ref -q HEAD || true)" != "refs/heads/$KSA_BRANCH" ] && [ "$status" != applying ] && [ "$status" != conflict ]; then
		[ "$force" = 1 ] ||
			die "$EX_REFUSED" "$KSA_WORK_TREE is not on branch $KSA_BRANCH: check it out again, pass --branch, or rerun with --force (HEAD goes to a backup branch)"
		keep_work commits
	fi
	case $status in
	applying)
		# The commits since the base came from patches/, unless somebody
		# committed after the interruption: keep them anyway.
		[ "$(wt_git rev-parse HEAD)" = "$base" ] || keep_work commits
		;;
	applied | exported)
		if [ "$(wt_git rev-parse -q --verify "refs/heads/$KSA_BRANCH" || echo none)" != "$(wt_git rev-parse -q --verify "$tip^{commit}" || echo none)" ]; then
			[ "$force" = 1 ] ||
				die "$EX_REFUSED" "$KSA_WORK_TREE has commits that are not in patches/: run scripts/export.sh to keep them, or rerun with --force (they go to a backup branch)"
			keep_work commits
		elif [ "$(wt_description)" != "$description" ]; then
			[ "$force" = 1 ] ||
				die "$EX_REFUSED" "the branch description (cover letter) in $KSA_WORK_TREE differs from patches/0000-cover-letter.patch: run scripts/export.sh to keep it, or rerun with --force"
			log "discarding the edited branch description (was: $(wt_description | head -n 1))"
		fi
		;;
	conflict)
		# The git am that stopped: if it is still there, --force kept it
		# above.  Otherwise the developer aborted it (back at the base:
		# nothing to keep) or resolved it and went on (commits that are not
		# in patches/).
		if [ "$kept" = 1 ] || [ "$(wt_git rev-parse HEAD)" = "$base" ]; then
			:
		elif [ "$force" = 1 ]; then
			keep_work commits
		else
			die "$EX_REFUSED" "$KSA_WORK_TREE has commits that are not in patches/ (the git am that stopped on $tip was resolved since): run scripts/export.sh to keep them, or rerun with --force (they go to a backup branch)"
		fi
		;;
	*)
		if [ "$(wt_git rev-parse HEAD)" != "$base" ]; then
			[ "$force" = 1 ] ||
				die "$EX_REFUSED" "$KSA_WORK_TREE was not made by apply.sh and has commits on top of the base: rerun with --force (they go to a backup branch) or pass another --work-tree"
			keep_work commits
		fi
		;;
	esac
	wt_set_state applying "$base"
	wt_git checkout -q -f -B "$KSA_BRANCH" "$base"
}

# Work trees are made one at a time: a second first-time apply waits here,
# then finds the work tree and its lock.
exec 6>"$base_gitdir/kvm-s390-arm64-worktrees.lock"
flock 6
target=$(realpath -m "$KSA_WORK_TREE")
# What a 'git worktree add' killed before it finished leaves: an entry
# locked as "initializing" whose directory was removed since.
if [ ! -e "$target/.git" ] && git --git-dir="$base_gitdir" worktree list --porcelain | grep -qxF "worktree $target"; then
	git --git-dir="$base_gitdir" worktree unlock "$target" 2>/dev/null || true
	git --git-dir="$base_gitdir" worktree prune
	if [ -d "$target" ] && [ -z "$(ls -A "$target")" ]; then rmdir "$target"; fi
fi
if [ -e "$KSA_WORK_TREE" ] && [ "$(wt_state 2>/dev/null | cut -d' ' -f1)" = creating ] &&
	[ "$(wt_git rev-parse -q --verify HEAD 2>/dev/null)" = "$base" ] &&
	[ -z "$(wt_git status --porcelain --untracked-files=no 2>/dev/null | grep -vE '^( D|D ) ' || true)" ]; then
	# Killed while its files were checked out: HEAD at the base and no file
	# but missing ones differ, so nothing of anybody's is there.
	lock_work_tree
	exec 6>&-
	log "finishing the work tree an interrupted apply was creating"
	wt_git checkout -q -f -B "$KSA_BRANCH" "$base"
elif [ -e "$KSA_WORK_TREE" ]; then
	exec 6>&-
	prepare_existing
	log "reset $KSA_WORK_TREE to the base $base"
else
	log "creating the work tree $KSA_WORK_TREE (git worktree of $base_gitdir)"
	mkdir -p "$(dirname "$KSA_WORK_TREE")"
	other=$(git --git-dir="$base_gitdir" worktree list --porcelain |
		awk -v b="branch refs/heads/$KSA_BRANCH" '/^worktree / { w = substr($0, 10) } $0 == b { print w; exit }')
	[ -z "$other" ] || [ "$other" = "$target" ] ||
		die "$EX_REFUSED" "branch $KSA_BRANCH of $base_gitdir is checked out in $other: pass --branch NAME for a second work tree, or use --work-tree $other"
	if git --git-dir="$base_gitdir" rev-parse -q --verify "refs/heads/$KSA_BRANCH" >/dev/null &&
		[ "$(git --git-dir="$base_gitdir" rev-parse "refs/heads/$KSA_BRANCH")" != "$base" ]; then
		backup=$(KSA_WORK_TREE=$base_gitdir backup_name "$KSA_BRANCH")
		git --git-dir="$base_gitdir" branch -q -m "$KSA_BRANCH" "$backup"
		log "kept the earlier branch $KSA_BRANCH as $backup"
	fi
	# The files are checked out after the state says "creating", so that a
	# rerun after a kill knows that nothing there is anybody's work.
	git --git-dir="$base_gitdir" worktree add -q -f --no-checkout -B "$KSA_BRANCH" "$KSA_WORK_TREE" "$base"
	KSA_WORK_TREE=$(cd "$KSA_WORK_TREE" && pwd)
	lock_work_tree
	exec 6>&-
	wt_set_state creating "$base"
	wt_git checkout -q -f -B "$KSA_BRANCH" "$base"
fi

wt_set_state applying "$base"
# What the work tree is applied from, as checked above (before git am, so
# that a file changed while it runs is not taken for what was applied).
printf '%s\n' "$manifest" >"$(wt_manifest_file)"
wt_git config "branch.$KSA_BRANCH.description" "$description"
n=${#patches[@]}
log "applying $n patches with git am -3"
paths=()
for p in "${patches[@]}"; do paths+=("$KSA_ROOT/patches/$p"); done
if [ "$n" -gt 0 ] && ! k=$(ksa_am "$KSA_WORK_TREE" "${paths[@]}"); then
	# ksa_am names the file of the mail git am stopped on, even when a file
	# holds more than one mail.
	bad=${patches[$((k - 1))]}
	files=$(wt_git diff --name-only --diff-filter=U | tr '\n' ' ')
	[ -n "$files" ] || files=$(sed -n 's|^diff --git a/\([^ ]*\) .*|\1|p' "$KSA_ROOT/patches/$bad" | tr '\n' ' ')
	wt_set_state conflict "$bad"
	die "$EX_FAIL" "patches/$bad (patch $k/$n) does not apply (files: ${files% }): the work tree $KSA_WORK_TREE is left as git am stopped; resolve and 'git am --continue', then scripts/export.sh"
fi
wt_set_state applied "$(wt_git rev-parse HEAD)"
log "applied $n patches on $base in $KSA_WORK_TREE (branch $KSA_BRANCH, $(elapsed))"
