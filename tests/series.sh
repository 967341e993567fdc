#!/usr/bin/env bash
# End-to-end tests of the real series on the real pinned base: the base
# import, apply, the export round trip, the identity of every patch, the
# series as b4 and quilt take it, and the project's Coccinelle invariants at
# the base and at the tip.
# shellcheck source=tests/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

usage() {
	cat <<USAGE
Usage: $KSA_PROG

Apply patches/ to the pinned base (fetched as scripts/fetch-base.sh does;
KSA_BASE_TARBALL or KSA_BASE_GIT_TREE are honoured) in a scratch copy of
the project, export it again and compare, and check the series' invariants.
It also checks the series as others take it:
  - b4 am of the thread scripts/mbox.sh writes, then git am: apply.sh's tree
  - b4 am --guess-base in a repository of the release under another commit
  - quilt push -a on the extracted tarball (KSA_BASE_TARBALL; otherwise the
    pinned import's files): apply.sh's tree
Prints TAP lines and a closing "N passed, N failed, N skipped" line.
Exit codes: 0 all passed, 1 a test failed, 2 bad usage.
USAGE
}
t_no_args "$@"

t_scratch series
pin=$(base_get import-commit)

# An import into a cache that does not hold the base must give the pinned
# commit id.  Where the project's cache has none yet (a cold run), the import
# below is that import; otherwise one into a scratch cache (a minute more).
base_cached() {
	[ "$(git --git-dir="$KSA_CACHE/linux.git" rev-parse -q --verify 'refs/kvm-s390-arm64/base^{commit}' 2>/dev/null)" = "$pin" ]
}
# fetch-base says "imported" only when it imported (it prints the pinned id
# whatever it did), and KSA_BASE_GIT_TREE would come before the tarball.
imported="imported $(base_get tag) as $pin"
if [ -n "${KSA_BASE_TARBALL:-}" ] && ! base_cached; then
	expect "a fresh import of the tarball (into the project's cache, which has no base yet) gives the pinned base commit $pin" 0 "$imported" \
		env -u KSA_BASE_GIT_TREE "$KSA_ROOT/scripts/fetch-base.sh" --tarball "$KSA_BASE_TARBALL"
elif [ -n "${KSA_BASE_TARBALL:-}" ]; then
	expect "a fresh import of the tarball (into a scratch cache) gives the pinned base commit $pin" 0 "$imported" \
		env -u KSA_BASE_GIT_TREE XDG_CACHE_HOME="$W/cache" "$KSA_ROOT/scripts/fetch-base.sh" --tarball "$KSA_BASE_TARBALL"
	rm -rf "$W/cache"
else
	t_skip "a fresh import of the tarball gives the pinned base commit" "KSA_BASE_TARBALL is not set; the cached or downloaded import is checked below"
fi
expect "the base is available (cache, tarball or apt) and matches base-commit" 0 "$pin" "$KSA_ROOT/scripts/fetch-base.sh"

P=$W/project
t_project "$P"
expect "the series applies to the pinned base" 0 "applied [0-9]+ patches" \
	"$P/scripts/apply.sh" --work-tree "$W/linux" --branch "$T_BRANCH"
applied_tree=$(git -C "$W/linux" rev-parse 'HEAD^{tree}')
rm -f "$P"/patches/*.patch "$P/series"
expect "the series exports again" 0 "exported" "$P/scripts/export.sh" --work-tree "$W/linux" --branch "$T_BRANCH"
run diff -r "$KSA_ROOT/patches" "$P/patches"
check "apply then export reproduces patches/ byte for byte" test "$RC" = 0
run diff "$KSA_ROOT/series" "$P/series"
check "apply then export reproduces series byte for byte" test "$RC" = 0

bad=
for p in "$KSA_ROOT"/patches/[0-9]*.patch; do
	case $p in */0000-*) continue ;; esac
	grep -q "^From: $KSA_NAME <$KSA_EMAIL>$" "$p" || bad="$bad ${p##*/}(From)"
	grep -q "^Signed-off-by: $KSA_NAME <$KSA_EMAIL>$" "$p" || bad="$bad ${p##*/}(Signed-off-by)"
	other=$(grep -E '^(Signed-off-by|Co-developed-by|Reviewed-by|Acked-by|Tested-by|Reported-by|Suggested-by): ' "$p" | grep -v -F "$KSA_NAME <$KSA_EMAIL>" || true)
	[ -z "$other" ] || bad="$bad ${p##*/}(names another person)"
done
echo "$bad" >"$T_OUT"
check "every patch is from and signed off by the project identity only" test -z "$bad"
# A per-patch entry of checkpatch.ignore names its patch by file name
# without number: it must name exactly one patch of series, or it ignores
# nothing (a stale name) or more than meant (two subjects truncated alike).
bad=''
while read -r type slug; do
	[ -n "$slug" ] || continue
	k=$(series_list | sed -e 's/^[0-9]\{4\}-//' -e 's/\.patch$//' | grep -cxF -- "$slug" || true)
	[ "$k" = 1 ] || bad="$bad $type:$slug($k)"
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$KSA_ROOT/checkpatch.ignore")
echo "entries of checkpatch.ignore that do not name exactly one patch:$bad" >"$T_OUT"
check "every per-patch entry of checkpatch.ignore names exactly one patch of series" test -z "$bad"
# A subject that format-patch folds over two lines makes Debian 12's b4
# 0.12 fail ("Header values may not contain linefeed"), and a posting of
# the whole series has the longer prefix "[PATCH NN/27] ": each subject
# must fit one 78-column line with it.
bad='' prefix='Subject: [PATCH 27/27] '
for p in "$KSA_ROOT"/patches/[0-9]*.patch; do
	subj=$(sed -n 's/^Subject: \[PATCH [0-9/]*\] //p' "$p" | head -n 1)
	if [ -z "$subj" ] || [ $((${#subj} + ${#prefix})) -gt 78 ]; then bad="$bad ${p##*/}"; fi
done
echo "subjects too long for one line with the prefix of the 27-patch posting:$bad" >"$T_OUT"
check "every subject fits one line with the prefix of the whole series' posting (b4 0.12 fails on a folded one)" test -z "$bad"

# Moves (export.sh detects renames and copies, -M -C): a file moved to a
# shared place whose old path stays as a wrapper is a copy.  Every rename
# and copy is listed with its similarity (the cover letter reports them),
# and a copy must be a move: for each source, the lines its copies and
# renames take from it (a destination's lines less those its diff against
# the source adds) must be lines the source loses in the same patch, nine
# tenths of them at least, so that no patch duplicates code under a second
# name.  Copies of fewer than 10 lines (boilerplate Makefiles and Kbuild
# files, of which the base has byte-identical pairs) are listed only.
# moves REPO RANGE
moves() {
	local r=$1 c i=0 st a b lost size added sim
	local -A took
	for c in $(git -C "$r" rev-list --reverse "$2"); do
		i=$((i + 1))
		took=()
		# --find-copies-harder finds a copy of a file the patch leaves
		# alone, a plain duplicate; -l0 keeps it from giving up on a big
		# tree (only modified files as sources beyond git's rename limit).
		while IFS=$'\t' read -r st a b; do
			case $st in R* | C*) ;; *) continue ;; esac
			sim=$((10#${st:1}))
			echo "patch $i: $([ "${st:0:1}" = R ] && echo rename || echo copy) $a -> $b ($sim%)"
			size=$(git -C "$r" show "$c:$b" | wc -l)
			added=$(git -C "$r" diff --numstat "$c~:$a" "$c:$b" | cut -f1)
			case $added in '' | -) added=0 ;; esac
			[ $((size - added)) -ge 10 ] || continue
			took[$a]=$((${took[$a]:-0} + size - added))
		done < <(git -C "$r" diff -M -C --find-copies-harder -l0 --name-status "$c~" "$c")
		for a in "${!took[@]}"; do
			lost=$(git -C "$r" diff --numstat --no-renames "$c~" "$c" -- "$a" | cut -f2)
			case $lost in '' | -) lost=0 ;; esac
			if [ $((lost * 10)) -lt $((took[$a] * 9)) ]; then
				echo "patch $i: $a loses $lost lines but its copies take ${took[$a]} of its lines: a duplicate, not a move"
			fi
		done
	done
}
run moves "$W/linux" "$pin..$T_BRANCH"
sed 's/^/# /' "$T_OUT"
check "every copy in patches/ is a move: its source loses the copied lines in the same patch" \
	sh -c "[ $RC = 0 ] && ! grep -q 'a duplicate, not a move' '$T_OUT'"
# The break check: a repository whose second commit duplicates a file.
D=$W/moves-break
git init -q "$D" && seq 1 300 >"$D/a.h" && git -C "$D" add a.h &&
	git -C "$D" -c user.name=t -c user.email=t@t commit -q -m base &&
	cp "$D/a.h" "$D/b.h" && git -C "$D" add b.h && git -C "$D" -c user.name=t -c user.email=t@t commit -q -m dup
run moves "$D" HEAD~1..HEAD
check "the move check finds a patch that duplicates a file (break check)" grep -q 'a.h loses 0 lines but its copies take 300 of its lines: a duplicate, not a move' "$T_OUT"

# --- the series as others take it: b4 and quilt ----------------------------
n=$(series_list | wc -l)

# b4 am of the thread in $W/series.mbox, in directory DIR, into OUTDIR.  b4
# reads a Message-ID from stdin when that is not a terminal, keeps its cache
# and its record of what it applied (for 'b4 ty') in the XDG directories
# (here scratch ones), and exits 0 even when it finds no patches: what counts
# is the mbox it writes.
b4_am() {
	local dir=$1 outdir=$2
	shift 2
	mkdir -p "$outdir"
	(cd "$dir" && XDG_DATA_HOME=$W/b4-home/data XDG_CACHE_HOME=$W/b4-home/cache \
		b4 am -m "$W/series.mbox" -o "$outdir" "$@" "$cover_id" </dev/null)
}

expect "mbox.sh writes the cover letter and the $n patches as one mbox thread" 0 "wrote $((n + 1)) mails" \
	"$KSA_ROOT/scripts/mbox.sh" -o "$W/series.mbox"
cover_id=$(sed -n 's/^Message-ID: <\(.*\)>$/\1/p' "$W/series.mbox" 2>/dev/null | head -n 1)
for f in 0000-cover-letter.patch $(series_list); do cat "$KSA_ROOT/patches/$f"; echo; done >"$W/mails"
grep -vE '^(Message-ID|In-Reply-To|References): <kvm-s390-arm64\.[0-9]+\.[0-9a-f]{16}@example\.org>$' \
	"$W/series.mbox" >"$W/mails.unthreaded" 2>/dev/null
run diff "$W/mails" "$W/mails.unthreaded"
check "the mbox holds the mails of patches/ with nothing but the thread headers added" test "$RC" = 0
if command -v b4 >/dev/null; then
	# The thread b4 finds from the cover letter's Message-ID, through the
	# patches' In-Reply-To and References: the whole series, or no mbox.
	run b4_am "$W" "$W/b4"
	am=$(find "$W/b4" -name '*.mbx' | head -n 1)
	b4_took_all() { [ -n "$am" ] && grep -qx "Total patches: $n" "$T_OUT"; }
	check "b4 am takes the thread from the mbox and writes an am-ready mbox of the $n patches" b4_took_all
	git -C "$W/linux" checkout -q -f --detach "$pin"
	run ksa_am "$W/linux" "${am:-$W/b4/none.mbx}"
	[ "$RC" = 0 ] || git -C "$W/linux" am --abort >/dev/null 2>&1
	b4_tree=$(git -C "$W/linux" rev-parse 'HEAD^{tree}')
	echo "tree after git am of b4's mbox: $b4_tree; after apply.sh: $applied_tree" >>"$T_OUT"
	check "git am of b4's mbox on the pinned base gives the tree apply.sh makes" test "$RC" = 0 -a "$b4_tree" = "$applied_tree"
	git -C "$W/linux" checkout -q -f "$T_BRANCH"
else
	t_skip "b4 am of the series as a mail thread" "b4 is not installed (scripts/setup.sh installs it)"
fi

tag=$(base_get tag)
# The cover letter's base-commit is the project's import, which no upstream
# repository has: the cover letter names the tag, and b4 finds the base from
# the blobs of the index lines.
tr -s '\n' ' ' <"$KSA_ROOT/patches/0000-cover-letter.patch" >"$W/cover.txt"
echo "patches/0000-cover-letter.patch does not say \"based on $tag\"" >"$T_OUT"
check "the cover letter says that the series is based on $tag" grep -qiF "based on $tag" "$W/cover.txt"

# The release's files in a repository of their own, as upstream has them:
# the same tree as the pinned import, under another commit.  quilt then
# pushes the series in the same directory, as a distribution's unpacked
# source.  The files are the tarball's (KSA_BASE_TARBALL), otherwise those of
# the pinned import, which holds every file of the tarball (its commit id
# says so).  The repository takes the import's objects as hard links, as
# 'git clone --local' does (git never writes to an object file), all but the
# import commit, which b4 would take as the cover letter's base-commit; it
# reads the import's tree into its index, 'update-index --refresh' then
# hashes every extracted file against it (a file that differs or is missing
# "needs update", exit 1) and 'ls-files -o' names any file the tree does not
# have: the same check as 'git add -A' of the release into an empty
# repository, without compressing and writing its 90,000 objects again.
# Where the import commit is not a loose object (a 'git gc' in the cache
# packed it), the cache borrows objects itself, or the copy fails (the cache
# on another file system than TMPDIR, as with a tmpfs /tmp), it is that
# 'git add'.
extract_base() {
	if [ -n "${KSA_BASE_TARBALL:-}" ]; then
		tar -xJf "$KSA_BASE_TARBALL" -C "$1" --no-same-owner
	else
		hgit -C "$W/linux" archive --prefix="linux-${tag#v}/" "$pin" | tar -x -C "$1" --no-same-owner
	fi
}
# git in the repository of the extracted release $U, never one around it.
ugit() { [ -n "$U" ] && hgit -C "$U" --git-dir=.git --work-tree=. "$@"; }
# import_again: $U as a repository with one commit of its files, tagged as
# the release; the commit is the project identity's, with another message
# than the import's, and the import commit is not in the repository.
import_again() {
	local extra loose=$base_gitdir/objects/${pin:0:2}/${pin:2}
	hgit -C "$U" init -q -b master || return
	if [ -f "$loose" ] && [ ! -e "$base_gitdir/objects/info/alternates" ] &&
		cp -al "$base_gitdir/objects/." "$U/.git/objects/" 2>/dev/null; then
		rm -f "$U/.git/objects/${pin:0:2}/${pin:2}" &&
			ugit read-tree "$pin_tree" &&
			ugit update-index --refresh &&
			extra=$(ugit ls-files -o) &&
			{ [ -z "$extra" ] || { printf 'not in the pinned tree: %s\n' "$extra"; false; }; }
	else
		# A copy that stopped half way may hold the import commit.
		rm -rf "$U/.git" && hgit -C "$U" init -q -b master &&
			ugit -c core.looseCompression=1 add -f -A .
	fi &&
		GIT_AUTHOR_NAME=$KSA_NAME GIT_AUTHOR_EMAIL=$KSA_EMAIL GIT_AUTHOR_DATE=$(base_get import-date) \
			GIT_COMMITTER_NAME=$KSA_NAME GIT_COMMITTER_EMAIL=$KSA_EMAIL GIT_COMMITTER_DATE=$(base_get import-date) \
			ugit commit -q --no-verify -m "$(base_get import-subject)" &&
		ugit tag "$tag" &&
		{ ! ugit cat-file -e "$pin^{commit}" 2>/dev/null || { echo "the repository of the release has the import commit $pin"; false; }; }
}
pin_tree=$(git -C "$W/linux" rev-parse "$pin^{tree}")
base_gitdir=$(git -C "$W/linux" rev-parse --path-format=absolute --git-common-dir)
mkdir -p "$W/dist"
run extract_base "$W/dist"
U=$(find "$W/dist" -mindepth 1 -maxdepth 1 -type d | head -n 1)
if [ -n "${KSA_BASE_TARBALL:-}" ]; then from="the tarball ${KSA_BASE_TARBALL##*/}"; else from="the pinned import"; fi
check "the release's files are extracted from $from" test "$RC" = 0 -a -n "$U" -a -f "$U/Makefile"
if [ -z "$U" ]; then
	t_skip "a second import of the release and b4 am --guess-base" "the release's files could not be extracted"
else
	run import_again
	again=$(ugit rev-parse -q --verify 'HEAD^{commit}')
	again_tree=$(ugit rev-parse -q --verify 'HEAD^{tree}')
	echo "second import: commit ${again:-none}, tree ${again_tree:-none}; pinned base: commit $pin, tree $pin_tree" >>"$T_OUT"
	check "the extracted release is the pinned base's tree, file for file, and a repository of it has that tree under another commit" \
		test "$RC" = 0 -a -n "$again" -a "$again" != "$pin" -a "$again_tree" = "$pin_tree"
	if command -v b4 >/dev/null; then
		run b4_am "$U" "$W/b4-guess" --guess-base
		guess=$(sed -n 's/^ *Base: \(.*\) (exact match)$/\1/p' "$T_OUT" | head -n 1)
		echo "b4's base: ${guess:-none}, the second import: $again" >>"$T_OUT"
		check "b4 am --guess-base finds the base in a repository without the import commit of base-commit" \
			test -n "$guess" -a "$(ugit rev-parse -q --verify "${guess:-none}^{commit}")" = "$again"
	else
		t_skip "b4 am --guess-base" "b4 is not installed (scripts/setup.sh installs it)"
	fi
fi

# quilt, as a distribution applies patches: QUILT_PATCHES=patches and the
# series file at the top of the unpacked source (here links to the
# project's), no quiltrc.  The tree it makes, without quilt's own files, is
# compared with apply.sh's through the second import's index.
"$KSA_ROOT/scripts/setup.sh" --list | cut -f1 >"$T_OUT"
check "scripts/setup.sh installs quilt" grep -qx quilt "$T_OUT"
quilt_push() {
	ln -s "$KSA_ROOT/patches" "$1/patches" && ln -s "$KSA_ROOT/series" "$1/series" &&
		(cd "$1" && QUILT_PATCHES=patches quilt --quiltrc=- push -a)
}
if [ -z "$U" ]; then
	t_skip "quilt push -a" "the release's files could not be extracted"
elif command -v quilt >/dev/null; then
	expect "quilt push -a applies the $n patches of series to the extracted release" 0 \
		"^Now at patch $(series_list | tail -n 1 | sed 's/[.]/[.]/g')\$" quilt_push "$U"
	series_list >"$W/series.list"
	run diff "$W/series.list" "$U/.pc/applied-patches"
	check "quilt applied the patches of series in its order" test "$RC" = 0
	run ugit add -f -A -- . ':(exclude).pc' ':(exclude)patches' ':(exclude)series'
	quilt_tree=$(ugit write-tree)
	{
		echo "tree after quilt push -a: $quilt_tree; after apply.sh: $applied_tree; files quilt changed:"
		ugit diff --cached --stat HEAD
	} >>"$T_OUT" 2>&1
	check "quilt push -a gives the tree apply.sh makes (.pc, patches and series left out)" test "$quilt_tree" = "$applied_tree"
else
	t_skip "quilt push -a" "quilt is not installed (scripts/setup.sh installs it)"
fi

# cocci/kvm-symbol-get.cocci proves that nothing outside KVM looks up a KVM
# symbol at the tip; at the base it must find VFIO's lookups, or it could
# not fail.
cocci_at() {
	local rule=$1 rev=$2 files
	git -C "$W/linux" checkout -q -f --detach "$rev"
	mapfile -t files < <(git -C "$W/linux" grep -l -E "$(sed -n 's|^// prefilter: ||p' "$rule")" -- '*.c' '*.h')
	(cd "$W/linux" && spatch --very-quiet -D report --no-show-diff --no-includes --include-headers \
		--sp-file "$rule" "${files[@]}" 2>&1)
}
if command -v spatch >/dev/null; then
	tip=$(git -C "$W/linux" rev-parse HEAD)
	for rule in "$KSA_ROOT"/cocci/kvm-symbol-get.cocci "$KSA_ROOT"/cocci/vfio-kvm-opaque.cocci; do
		r=${rule##*/}
		cocci_at "$rule" "$pin" >"$T_OUT"
		check "$r finds the violations at the base (it can fail)" grep -q 'drivers/vfio/vfio_main.c' "$T_OUT"
		cocci_at "$rule" "$tip" >"$T_OUT"
		check "$r finds nothing at the tip of the series" test ! -s "$T_OUT"
	done
else
	t_skip "Coccinelle invariants" "spatch is not installed (scripts/setup.sh installs it)"
fi
t_summary
