#!/usr/bin/env bash
# Turn the work branch back into patches/ and series.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
guard_exit

usage() {
	cat <<USAGE
Usage: $KSA_PROG [--work-tree DIR] [--branch NAME] [--force]

Write the commits between the pinned base and the tip of the work branch to
patches/ with 'git format-patch -M -C' (renames and copies detected: a file
moved to a shared place whose old path stays, as a wrapper including it,
shows as a copy; files NNNN-subject.patch, the cover
letter 0000-cover-letter.patch from the branch description, with shortlog,
diffstat and a base-commit: trailer) and their order to 'series'.  The
output depends only on the commits and the description: applying and
exporting an unchanged series gives the same files byte for byte.

Edit the cover letter with 'git branch --edit-description' in the work tree
(first paragraph: subject; the rest: body).

  --work-tree DIR  the kernel work tree (default: build/linux)
  --branch NAME    the branch holding the series (default: kvm-s390-arm64)
  --force          overwrite patches/ and series even where they changed
                   since the work tree was applied from them (or last
                   exported to them)

export.sh refuses (exit 5, naming the files) to overwrite patches/ or
series when they are not what the work tree was applied from or last
exported: a patch added by hand or pulled from a colleague, a newer
committed patches/, would otherwise be lost.

Exit codes: 0 exported, 1 the branch is not exportable (uncommitted changes,
an operation in progress, a commit not of the project identity) or an
operation failed, 2 bad usage, 3 a tool is missing or a directory it writes
in is not writable, 5 refused: patches/ or series changed since the work
tree saw them; 130 or 143 interrupted.
USAGE
}

force=0
while [ $# -gt 0 ]; do
	case $1 in
	--work-tree) [ $# -ge 2 ] || usage_error "--work-tree needs a directory"; KSA_WORK_TREE=$2; shift 2 ;;
	--branch) [ $# -ge 2 ] || usage_error "--branch needs a name"; KSA_BRANCH=$2; shift 2 ;;
	--force) force=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage_error "unknown argument '$1'" ;;
	esac
done
need_cmd git flock:util-linux

is_git_work_tree "$KSA_WORK_TREE" ||
	die "$EX_FAIL" "$KSA_WORK_TREE is not a git work tree: run scripts/apply.sh first"
# Everything export.sh writes in, checked before anything is changed: the
# work tree's git directory in the base repository (lock, state, manifest),
# patches/ and series, the scratch directory.
need_writable "the work tree's state and lock are kept there: make it writable, or set XDG_CACHE_HOME to a writable directory and apply again" \
	"$(wt_git rev-parse --absolute-git-dir)"
need_writable "make it writable" "$KSA_ROOT" "$KSA_ROOT/patches" "${TMPDIR:-/tmp}"
lock_work_tree
if op=$(wt_in_progress); then
	die "$EX_FAIL" "$op is in progress in $KSA_WORK_TREE: finish or abort it first"
fi
wt_dirty && die "$EX_FAIL" "$KSA_WORK_TREE has uncommitted changes: commit them (git commit --fixup, then git rebase -i --autosquash) before exporting"
[ "$(wt_git symbolic-ref -q --short HEAD || true)" = "$KSA_BRANCH" ] ||
	die "$EX_FAIL" "$KSA_WORK_TREE is not on branch $KSA_BRANCH: check it out or pass --branch"

base=$(base_get import-commit)
wt_git merge-base --is-ancestor "$base" HEAD 2>/dev/null ||
	die "$EX_FAIL" "branch $KSA_BRANCH is not based on the pinned base $base: rebase it onto the base"
n=$(wt_git rev-list --count "$base..HEAD")
[ "$n" -gt 0 ] || die "$EX_FAIL" "branch $KSA_BRANCH has no commits on top of the base: nothing to export"
bad=$(wt_git log --format='%h %an <%ae>' "$base..HEAD" | grep -v -F " $KSA_NAME <$KSA_EMAIL>" || true)
[ -z "$bad" ] || die "$EX_FAIL" "commit $(head -n 1 <<<"$bad") is not authored by the project identity: fix it with 'git commit --amend --reset-author'"
while read -r c; do
	wt_git show -s --format=%B "$c" | grep -q -F "Signed-off-by: $KSA_NAME <$KSA_EMAIL>" ||
		die "$EX_FAIL" "commit $(wt_git log -1 --format='%h ("%s")' "$c") has no Signed-off-by of the project identity: amend it with 'git commit --amend -s'"
done < <(wt_git rev-list "$base..HEAD")
description=$(wt_description)
[ -n "$description" ] || die "$EX_FAIL" "branch $KSA_BRANCH has no description, so there is no cover letter: write one with 'git branch --edit-description'"

# What the work tree was applied from (or last exported) must still be
# what patches/ and series hold, or somebody else's work would be lost.
if [ "$force" = 0 ] && [ ! -f "$(wt_manifest_file)" ] && [ -n "$(product_manifest)" ] &&
	! { git -C "$KSA_ROOT" rev-parse --git-dir >/dev/null 2>&1 &&
		[ -z "$(git -C "$KSA_ROOT" status --porcelain -- patches series 2>/dev/null)" ]; }; then
	# A work tree of an older apply.sh, which kept no manifest: only a
	# patches/ that git says is committed as it is may be overwritten.
	die "$EX_REFUSED" "$KSA_WORK_TREE has no record of what it was applied from, and patches/ or series have changes git does not have committed: commit them, reapply (scripts/apply.sh), or rerun with --force to overwrite them"
fi
if [ "$force" = 0 ] && [ -f "$(wt_manifest_file)" ]; then
	# Files now there that the manifest does not have as they are; a file
	# that was removed is only written again.
	changed=$(product_manifest | grep -vxF -f "$(wt_manifest_file)" | sed 's/^[0-9a-f]*  //' | tr '\n' ' ' || true)
	[ -z "$changed" ] ||
		die "$EX_REFUSED" "${changed% } changed since $KSA_WORK_TREE was applied or exported: commit or move them, reapply (scripts/apply.sh), or rerun with --force to overwrite them"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ksa-export.XXXXXX")
on_exit_remove "$tmp"

# The cover letter is dated like the newest patch and comes from the project
# identity, so that nothing in the output depends on when it was made.
newest=$(wt_git log --format=%ad --date=iso-strict "$base..HEAD" | sort | tail -n 1)
GIT_COMMITTER_NAME=$KSA_NAME GIT_COMMITTER_EMAIL=$KSA_EMAIL GIT_COMMITTER_DATE=$newest \
	hgit -C "$KSA_WORK_TREE" \
	-c diff.noprefix=false -c diff.mnemonicPrefix=false -c diff.algorithm=myers \
	-c diff.context=3 -c diff.interHunkContext=0 -c diff.relative=false \
	-c diff.suppressBlankEmpty=false -c diff.orderFile=/dev/null -c diff.renames=true \
	-c format.signOff=false -c format.mboxrd=false -c format.forceInBodyFrom=false \
	-c format.encodeEmailHeaders=true -c format.suffix=.patch -c format.noprefix=false -c core.abbrev=12 \
	format-patch -q -M -C --zero-commit --no-signature --no-thread --no-to --no-cc \
	--filename-max-length=64 --subject-prefix=PATCH \
	--cover-letter --cover-from-description=subject --base="$base" \
	-o "$tmp/patches" "$base..HEAD" >/dev/null

{
	printf '# The order of the patches in patches/, written by scripts/export.sh.\n'
	for f in "$tmp"/patches/[0-9]*.patch; do
		f=${f##*/}
		[ "$f" = 0000-cover-letter.patch ] || printf '%s\n' "$f"
	done
} >"$tmp/series"

# The manifest takes the new files before they replace the old ones, and
# keeps the old lines too until they are in place: an export killed in
# between is not refused by the next one.
{ cat "$(wt_manifest_file)" 2>/dev/null || true; (cd "$tmp" && sha256sum series patches/*.patch); } >"$tmp/manifest"
mv "$tmp/manifest" "$(wt_manifest_file)"
mkdir -p "$KSA_ROOT/patches"
rm -f "$KSA_ROOT"/patches/*.patch
mv "$tmp"/patches/*.patch "$KSA_ROOT/patches/"
mv "$tmp/series" "$KSA_ROOT/series"
wt_set_state exported "$(wt_git rev-parse HEAD)"
product_manifest >"$(wt_manifest_file)"
log "exported $n patches and the cover letter to patches/ ($(git -C "$KSA_ROOT" status --porcelain -- patches series 2>/dev/null | wc -l) files changed)"
