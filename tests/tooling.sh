#!/usr/bin/env bash
# Tests of the series tooling (fetch-base, apply, export) on a small
# synthetic base, so that every bad case runs in seconds.  Each test states
# the property it protects.
# shellcheck source=tests/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

usage() {
	cat <<USAGE
Usage: $KSA_PROG [--keep]

Run the tooling tests on a synthetic base in a scratch directory and print
TAP lines and a closing "N passed, N failed, N skipped" line.
  --keep   keep the scratch directory and print its path
Exit codes: 0 all passed, 1 a test failed, 2 bad usage.
USAGE
}
keep=0
case ${1:-} in
--keep) keep=1 ;;
-h | --help) usage; exit 0 ;;
'') ;;
*) usage_error "unknown argument '$1'" ;;
esac

W=$(mktemp -d "${TMPDIR:-/tmp}/ksa-tooling.XXXXXX")
# shellcheck disable=SC2016 # evaluated at exit
if [ "$keep" = 1 ]; then log "scratch directory: $W"; else t_on_exit 'rm -rf "$W"'; fi
export XDG_CACHE_HOME=$W/cache
unset KSA_BASE_TARBALL KSA_BASE_GIT_TREE KSA_WORK_TREE KSA_BRANCH
ident=(-c "user.name=$KSA_NAME" -c "user.email=$KSA_EMAIL")

# A small kernel-like tarball: an ignored file (git add -f must take it), a
# symlink, an executable.
mkdir -p "$W/src/linux-0.1/drivers" "$W/src/linux-0.1/scripts"
printf '*.o\n' >"$W/src/linux-0.1/.gitignore"
printf 'object\n' >"$W/src/linux-0.1/drivers/prebuilt.o"
for i in $(seq 1 40); do printf 'int f%d(void) { return %d; }\n' "$i" "$i" >"$W/src/linux-0.1/drivers/d$i.c"; done
printf '#!/bin/sh\necho hi\n' >"$W/src/linux-0.1/scripts/run.sh"
chmod +x "$W/src/linux-0.1/scripts/run.sh"
ln -s ../drivers/d1.c "$W/src/linux-0.1/scripts/link.c"
tar -C "$W/src" --sort=name --mtime=@0 -cJf "$W/linux_0.1.orig.tar.xz" linux-0.1
TB=$W/linux_0.1.orig.tar.xz

# new_project DIR: a project checkout with the tooling and the synthetic base.
new_project() {
	mkdir -p "$1/patches"
	cp -r "$KSA_ROOT/scripts" "$1/"
	cat >"$1/base-commit" <<BASE
tag: v0.1
tarball: linux_0.1.orig.tar.xz
tarball-sha256: $(sha256sum "$TB" | cut -d' ' -f1)
debian-source: linux=0.1-1
debian-suites: unstable
import-date: 2026-01-01T00:00:00+0000
import-subject: Linux 0.1
import-commit: ${PIN:-0000000000000000000000000000000000000000}
BASE
	cat >"$1/patches/0000-cover-letter.patch" <<'COVER'
From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
Subject: [PATCH 0/0] test: A synthetic series

The blurb of the synthetic series.
COVER
	printf '# order\n' >"$1/series"
}

# commit_change WT N: one commit of the project identity changing d<N>.c.
commit_change() {
	printf '/* change %s */\n' "$2" >>"$1/drivers/d$2.c"
	git -C "$1" add "drivers/d$2.c"
	GIT_AUTHOR_DATE="2026-02-0$(($2 % 9 + 1))T10:00:00+0000" git "${ident[@]}" -C "$1" commit -q \
		-m "drivers: Change d$2" -m "Explain why d$2 changes." -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
}

echo "# tooling tests in $W"

# --- base import ----------------------------------------------------------
new_project "$W/pin"
PIN=$(XDG_CACHE_HOME=$W/pin1 "$W/pin/scripts/fetch-base.sh" --tarball "$TB" --new-pin 2>/dev/null)
PIN2=$(XDG_CACHE_HOME=$W/pin2 "$W/pin/scripts/fetch-base.sh" --tarball "$TB" --new-pin 2>/dev/null)
check "two separate imports give the same base commit id" test -n "$PIN" -a "$PIN" = "$PIN2"
# --new-pin interrupted while it extracts (a tar that waits): its scratch
# repository goes on TERM, and what a kill -9 left goes with the next run.
mkdir -p "$W/slow"
printf '#!/bin/sh\ntouch "%s/slow/started"\nexec sleep 30\n' "$W" >"$W/slow/tar"
chmod +x "$W/slow/tar"
setsid env XDG_CACHE_HOME="$W/pin3" PATH="$W/slow:$PATH" "$W/pin/scripts/fetch-base.sh" --tarball "$TB" --new-pin >"$T_OUT" 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ ! -e "$W/slow/started" ] || break; sleep 0.05; done
kill -TERM -- "-$pid"
wait "$pid"
rc=$?
scratch() { find "$1/kvm-s390-arm64" -maxdepth 1 \( -name 'new-pin.*' -o -name 'import.*' \); }
check "fetch-base --new-pin stopped by TERM exits 143 and removes its new-pin.* and import.* directories" \
	test "$rc" = 143 -a -e "$W/slow/started" -a -z "$(scratch "$W/pin3")"
mkdir -p "$W/pin3/kvm-s390-arm64/new-pin.killed/objects" "$W/pin3/kvm-s390-arm64/import.killed"
expect "fetch-base --new-pin after a killed one succeeds" 0 "^$PIN\$" env XDG_CACHE_HOME="$W/pin3" "$W/pin/scripts/fetch-base.sh" --tarball "$TB" --new-pin
check "... and removes the new-pin.* and import.* directories the killed one left" test -z "$(scratch "$W/pin3")"

P=$W/proj
PIN=$PIN new_project "$P"
expect "fetch-base imports the tarball and prints repository and commit" 0 "$PIN" \
	"$P/scripts/fetch-base.sh" --tarball "$TB"
repo=$XDG_CACHE_HOME/kvm-s390-arm64/linux.git
run git --git-dir="$repo" ls-tree -r --name-only "$PIN"
check "the import holds every file of the tarball, ignored ones too" \
	grep -qx 'drivers/prebuilt.o' "$T_OUT"
check "the import keeps symlinks and executable bits" \
	test "$(git --git-dir="$repo" ls-tree "$PIN" scripts/ | awk '{print $1}' | sort | tr '\n' ' ')" = "100755 120000 "
expect "a second fetch uses the cache" 0 "$PIN" env KSA_BASE_TARBALL= "$P/scripts/fetch-base.sh"
mkdir -p "$W/it's cache/kvm-s390-arm64/import.killed/tree"
expect "an import into a cache path with a quote succeeds (passes before the trap fix too: the old trap broke only on a failed import)" 0 "$PIN" \
	env XDG_CACHE_HOME="$W/it's cache" "$P/scripts/fetch-base.sh" --tarball "$TB"
check "the import removes what a killed import left in the cache (import.*)" \
	test -z "$(find "$W/it's cache/kvm-s390-arm64" -maxdepth 1 -name 'import.*')"
expect "a missing KSA_BASE_TARBALL is named as such" 2 "KSA_BASE_TARBALL $W/no-such.tar.xz: no such file" \
	env XDG_CACHE_HOME="$W/cache-none" KSA_BASE_TARBALL="$W/no-such.tar.xz" "$P/scripts/fetch-base.sh"
# shellcheck disable=SC2016 # expanded by the inner bash
run env -u HOME -u XDG_CACHE_HOME bash -c 'source "$1/scripts/lib.sh"; echo "$KSA_CACHE"' _ "$P"
check "without HOME and XDG_CACHE_HOME the cache is in the project's build/, not in /tmp" \
	test "$(cat "$T_OUT")" = "$P/build/cache"

cp "$TB" "$W/bad.tar.xz"
printf 'x' | dd of="$W/bad.tar.xz" bs=1 seek=100 conv=notrunc status=none
expect "a tarball with the wrong checksum is refused" 4 "error: .*bad.tar.xz has sha256 .*expects" \
	env XDG_CACHE_HOME="$W/cache-bad" "$P/scripts/fetch-base.sh" --tarball "$W/bad.tar.xz"
check "a refused tarball leaves no import behind" test ! -e "$W/cache-bad/kvm-s390-arm64/linux.git/refs/kvm-s390-arm64/base"

sed "s/^import-commit: .*/import-commit: 1111111111111111111111111111111111111111/" "$P/base-commit" >"$W/bc"
mkdir -p "$W/other" && cp -r "$P/scripts" "$W/other/" && cp "$W/bc" "$W/other/base-commit"
expect "an import whose commit id differs from base-commit is refused" 4 "expects 1111111111111111111111111111111111111111" \
	env XDG_CACHE_HOME="$W/cache-other" "$W/other/scripts/fetch-base.sh" --tarball "$TB"

# A developer's kernel tree: the same files, tagged, with other history.
U=$W/user-linux
mkdir -p "$U" && tar -C "$U" --strip-components=1 -xJf "$TB"
git -C "$U" init -q && git -C "$U" add -f -A && git "${ident[@]}" -C "$U" commit -q -m "upstream history" &&
	git -C "$U" tag v0.1 && git -C "$U" checkout -q -b topic && echo local >"$U/local-change"
user_state() { git -C "$U" rev-parse HEAD; git -C "$U" symbolic-ref HEAD; git -C "$U" status --porcelain; }
before=$(user_state)
expect "fetch-base --git-tree gives the same base commit as the tarball" 0 "$PIN" \
	"$P/scripts/fetch-base.sh" --git-tree "$U"
git init -q "$W/notag"
expect "a git tree without the tag is refused" 4 "has no tag v0.1" \
	"$P/scripts/fetch-base.sh" --git-tree "$W/notag"
expect "apply --git-tree makes a worktree of the developer's tree" 0 "applied 0 patches" \
	"$P/scripts/apply.sh" --git-tree "$U" --work-tree "$W/wt-user"
check "the developer's checkout is untouched" test "$(user_state)" = "$before"
check "the worktree is at the base commit" test "$(git -C "$W/wt-user" rev-parse HEAD)" = "$PIN"

# --- apply and export -----------------------------------------------------
WT=$P/build/linux
expect "apply builds the work tree at the base" 0 "applied 0 patches" "$P/scripts/apply.sh"
# checkpatch's SPDX check (scripts/spdxcheck.py) refuses what GitPython calls
# a bare repository, which a work tree of a bare cache would be.
run /usr/bin/python3 -c 'import git, sys; sys.exit(git.Repo(sys.argv[1]).bare)' "$WT"
check "GitPython does not take the work tree for a bare repository" test "$RC" = 0
for i in 1 2 3; do commit_change "$WT" "$i"; done
expect "apply refuses a work tree with commits that are not exported" 5 "not in patches/.*export.sh" \
	"$P/scripts/apply.sh"
check "a refused apply does not say it reset the work tree" sh -c "! grep -q 'reset' '$T_OUT'"
check "the refused work tree keeps its commits" test "$(git -C "$WT" rev-list --count "$PIN..HEAD")" = 3
expect "export writes patches/ and series" 0 "exported 3 patches" "$P/scripts/export.sh"
check "series lists the three patches in order" \
	test "$(grep -v '^#' "$P/series" | tr '\n' ' ')" = "0001-drivers-Change-d1.patch 0002-drivers-Change-d2.patch 0003-drivers-Change-d3.patch "
check "the cover letter has subject, blurb, shortlog and base-commit" \
	grep -q "^base-commit: $PIN" "$P/patches/0000-cover-letter.patch"
run grep -c -e '^Subject: \[PATCH 0/3\] test: A synthetic series' -e '^The blurb of the synthetic series' -e '^  drivers: Change d2' "$P/patches/0000-cover-letter.patch"
check "the cover letter text survives the export" test "$(cat "$T_OUT")" = 3
# Plain git format-patch writes one blank line between the mail headers and
# the message.
run sh -c "for p in '$P'/patches/*.patch; do awk 'h == 0 && /^\$/ { h = 1; next } h == 1 { if (\$0 == \"\") print FILENAME; exit }' \"\$p\"; done"
check "every exported patch has one blank line after its mail headers, as format-patch writes" test ! -s "$T_OUT"

cp -r "$P/patches" "$W/patches.1" && cp "$P/series" "$W/series.1"
expect "apply of an exported series succeeds" 0 "applied 3 patches" "$P/scripts/apply.sh"
rm -f "$P"/patches/*.patch
expect "export after apply succeeds" 0 "exported 3 patches" "$P/scripts/export.sh"
run diff -r "$W/patches.1" "$P/patches"
check "apply then export reproduces patches/ byte for byte" test "$RC" = 0
run diff "$W/series.1" "$P/series"
check "apply then export reproduces series byte for byte" test "$RC" = 0
# A patch added by hand (or pulled from a colleague) and a newer patches/
# are not overwritten by an export from a work tree that does not have them.
cp "$P/patches/0003-drivers-Change-d3.patch" "$P/patches/0004-drivers-Colleague.patch"
echo 0004-drivers-Colleague.patch >>"$P/series"
expect "export refuses to overwrite a patch added to patches/ and series by hand, naming them" 5 \
	"series patches/0004-drivers-Colleague.patch changed since" "$P/scripts/export.sh"
check "the refused export leaves the added patch" test -f "$P/patches/0004-drivers-Colleague.patch"
rm "$P/patches/0004-drivers-Colleague.patch"
cp "$W/series.1" "$P/series"
sed -i 's/^Subject: \(.*\)$/Subject: \1 (newer)/' "$P/patches/0002-drivers-Change-d2.patch"
expect "export refuses to revert a newer patch in patches/" 5 "patches/0002-drivers-Change-d2.patch changed since" "$P/scripts/export.sh"
rm "$(git -C "$WT" rev-parse --path-format=absolute --git-path kvm-s390-arm64-manifest)"
expect "export from a work tree with no record of what it was applied from (an older apply.sh) refuses a changed patches/" 5 \
	"no record of what it was applied from" "$P/scripts/export.sh"
expect "export --force overwrites it" 0 "exported 3 patches" "$P/scripts/export.sh" --force
run diff -r "$W/patches.1" "$P/patches"
check "after export --force patches/ is the work tree's again" test "$RC" = 0
run "$P/scripts/apply.sh"
check "running apply twice is safe" test "$RC" = 0 -a "$(git -C "$WT" rev-list --count "$PIN..HEAD")" = 3

echo "/* edit */" >>"$WT/drivers/d9.c"
expect "apply refuses a dirty work tree" 5 "uncommitted changes" "$P/scripts/apply.sh"
check "the refused dirty work tree keeps the change" grep -q edit "$WT/drivers/d9.c"
expect "export refuses a dirty work tree" 1 "uncommitted changes" "$P/scripts/export.sh"
flock "$(git -C "$WT" rev-parse --path-format=absolute --git-path kvm-s390-arm64.lock)" -c "'$P/scripts/export.sh' >'$W/locked.log' 2>&1; echo \$? >'$W/locked.rc'"
cp "$W/locked.log" "$T_OUT"
check "export waits for no other apply or export: it is refused with exit 5 while the work tree is locked" \
	sh -c "[ \"\$(cat '$W/locked.rc')\" = 5 ] && grep -q 'still running' '$W/locked.log'"
expect "apply --force keeps the change under a ref of its own, named" 0 "kept the uncommitted changes as refs/kvm-s390-arm64/kept/" "$P/scripts/apply.sh" --force
kept_ref=$(sed -n 's/.*kept the uncommitted changes as \(refs\/[^ ]*\) .*/\1/p' "$T_OUT" | tail -n 1)
check "the kept ref holds the change (git stash show -p REF)" sh -c "git -C '$WT' stash show -p '$kept_ref' | grep -q edit"
check "no stash@{N} entry is used" test -z "$(git -C "$WT" stash list)"

git -C "$WT" branch --edit-description >/dev/null 2>&1 </dev/null
git -C "$WT" config "branch.kvm-s390-arm64.description" "test: Another subject"
expect "apply refuses to drop an edited cover letter" 5 "description" "$P/scripts/apply.sh"
"$P/scripts/apply.sh" --force >/dev/null 2>&1

echo x >>"$WT/drivers/d5.c" && git -C "$WT" add -A && GIT_AUTHOR_DATE=2026-03-01T00:00:00+0000 \
	git -c user.name=Somebody -c user.email=else@example.com -C "$WT" commit -q -m "drivers: foreign" -m "Signed-off-by: Somebody <else@example.com>"
expect "export refuses a commit not of the project identity" 1 "not authored by the project identity" "$P/scripts/export.sh"
git -C "$WT" reset -q --hard HEAD~1
commit_change "$WT" 5
git -C "$WT" commit -q --amend -m "drivers: Change d5" -m "No sign-off."
expect "export refuses a commit without Signed-off-by" 1 "no Signed-off-by" "$P/scripts/export.sh"
"$P/scripts/apply.sh" --force >/dev/null 2>&1
run diff -r "$W/patches.1" "$P/patches"
check "refused exports leave patches/ as it was" test "$RC" = 0

# The project checkout as a git repository, for this test only.
git -C "$P" init -q && git -C "$P" add -A && git -C "$P" -c user.name=x -c user.email=x@example.org commit -qm project
echo "a project edit" >>"$P/README.md"
git -C "$P" stash list >"$W/stash.before"
expect "apply --work-tree on the project checkout itself is refused, even with --force" 5 "not of the base repository" \
	"$P/scripts/apply.sh" --work-tree "$P" --force
check "the refused apply left the project checkout alone (its edit, no stash entry)" \
	sh -c "grep -q 'a project edit' '$P/README.md' && git -C '$P' stash list | cmp -s - '$W/stash.before'"
git -C "$P" checkout -q -- README.md
rm -rf "$P/.git"

# --- bad series -------------------------------------------------------------
cp "$P/series" "$W/series.ok"
sed -i 's/0002-drivers-Change-d2.patch/0002-drivers-Chnage-d2.patch/' "$P/series"
expect "a misspelled patch in series is named with its line (comment lines counted)" 2 "series line 3 names patches/0002-drivers-Chnage-d2.patch" "$P/scripts/apply.sh"
sed -i '/0002/d' "$P/series"
expect "a patch missing from series is named" 2 "patches/0002-drivers-Change-d2.patch is not named in series" "$P/scripts/apply.sh"
check "a bad series does not touch the work tree" test "$(git -C "$WT" rev-list --count "$PIN..HEAD")" = 3
cp "$W/series.ok" "$P/series"

cp "$P/patches/0002-drivers-Change-d2.patch" "$W/p2"
sed -i 's/^ int f2(void)/ int g2(void)/' "$P/patches/0002-drivers-Change-d2.patch"
expect "a patch that does not apply is named with its files" 1 "0002-drivers-Change-d2.patch \(patch 2/3\) does not apply \(files: drivers/d2.c\)" \
	"$P/scripts/apply.sh"
check "the work tree is left as git am stopped" test -d "$(git -C "$WT" rev-parse --git-path rebase-apply)"
expect "apply refuses to discard an unfinished git am" 5 "git am is in progress" "$P/scripts/apply.sh"
cp "$W/p2" "$P/patches/0002-drivers-Change-d2.patch"
backups() { git -C "$WT" for-each-ref --format='%(refname:short)' 'refs/heads/kvm-s390-arm64-backup-*' | sort; }
backups >"$W/backups.before"
expect "apply --force after fixing the patch applies the series" 0 "applied 3 patches" "$P/scripts/apply.sh" --force
new_backup=$(backups | comm -13 "$W/backups.before" - | tail -n 1)
check "the commits of the stopped git am are kept on a new backup branch" \
	test -n "$new_backup" -a "$(git -C "$WT" log -1 --format=%s "$new_backup" 2>/dev/null)" = "drivers: Change d1"
# A patch file with two mails, the second of which does not apply: the file
# is named, not the file of the next position.
sed 's/^ int f2(void)/ int g2(void)/' "$W/p2" | cat "$W/p2" - >"$P/patches/0002-drivers-Change-d2.patch"
expect "apply --force: a file of two mails that does not apply is the one named" 1 "0002-drivers-Change-d2.patch \(patch 2/3\) does not apply" \
	"$P/scripts/apply.sh" --force
cp "$W/p2" "$P/patches/0002-drivers-Change-d2.patch"
"$P/scripts/apply.sh" --force >/dev/null 2>&1

# A real three-way conflict: the work tree changes what patch 2 changes.
git -C "$WT" reset -q --hard "$PIN"
printf 'int f2(void) { return -2; }\n' >"$WT/drivers/d2.c"
git -C "$WT" commit -q -am "drivers: conflicting d2" -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
git -C "$WT" format-patch -q -1 --stdout >"$W/conflict.patch"
git -C "$WT" reset -q --hard "$PIN"
"$P/scripts/apply.sh" --force >/dev/null 2>&1
mv "$P/patches/0002-drivers-Change-d2.patch" "$W/p2.ok"
cp "$W/conflict.patch" "$P/patches/0002-drivers-Change-d2.patch"
git -C "$WT" reset -q --hard "$PIN"
sed -i 's/^int f2(void) { return 2; }$/int f2(void) { return 22; }/' "$WT/drivers/d2.c"
git -C "$WT" commit -q -am "drivers: Change d2 locally" -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
git -C "$WT" format-patch -q -1 --stdout >"$P/patches/0001-drivers-Change-d1.patch"
git -C "$WT" reset -q --hard "$PIN"
"$P/scripts/apply.sh" --force >"$T_OUT" 2>&1
check "a three-way conflict stops apply and names the conflicting file" grep -q "does not apply (files: drivers/d2.c)" "$T_OUT"
check "the conflicting file is left with conflict markers" grep -q '^<<<<<<<' "$WT/drivers/d2.c"
cp "$W/patches.1/0001-drivers-Change-d1.patch" "$P/patches/"
mv "$W/p2.ok" "$P/patches/0002-drivers-Change-d2.patch"
expect "apply --force recovers from a three-way conflict" 0 "applied 3 patches" "$P/scripts/apply.sh" --force
kept_ref=$(git -C "$WT" for-each-ref --sort=-refname --format='%(refname)' refs/kvm-s390-arm64/kept/ | head -n 1)
check "the conflicted files are kept under a kept ref" sh -c "git -C '$WT' stash show -p '$kept_ref' | grep -q '<<<<<<<'"
# After a conflict the developer aborts the git am, or resolves it and
# continues: apply.sh without --force goes on where nothing can be lost
# and refuses where commits are not in patches/.
conflict_again() {
	cp "$W/patches.1/0002-drivers-Change-d2.patch" "$W/p2.ok"
	cp "$W/conflict.patch" "$P/patches/0002-drivers-Change-d2.patch"
	"$P/scripts/apply.sh" --force >/dev/null 2>&1
	git -C "$WT" reset -q --hard "$PIN"
	sed -i 's/^int f2(void) { return 2; }$/int f2(void) { return 22; }/' "$WT/drivers/d2.c"
	git -C "$WT" -c user.name=x -c user.email=x@example.org commit -q -am "drivers: Change d2 locally" -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
	git -C "$WT" format-patch -q -1 --stdout >"$P/patches/0001-drivers-Change-d1.patch"
	git -C "$WT" reset -q --hard "$PIN"
	"$P/scripts/apply.sh" --force >/dev/null 2>&1
	cp "$W/patches.1/0001-drivers-Change-d1.patch" "$P/patches/"
	mv "$W/p2.ok" "$P/patches/0002-drivers-Change-d2.patch"
}
conflict_again
git -C "$WT" am --abort
backups >"$W/backups.before"
expect "apply after the developer aborted the conflicted git am goes on" 0 "applied 3 patches" "$P/scripts/apply.sh"
check "and keeps no backup branch (nothing was there to lose)" test "$(backups | comm -13 "$W/backups.before" - | wc -l)" = 0
conflict_again
printf 'int f2(void) { return 222; }\n' >"$WT/drivers/d2.c"
git -C "$WT" add drivers/d2.c
GIT_EDITOR=true git -C "$WT" -c user.name=x -c user.email=x@example.org am --continue >/dev/null 2>&1
expect "apply after the developer resolved and continued the git am refuses without --force" 5 "not in patches/" "$P/scripts/apply.sh"
expect "apply --force then keeps them and applies" 0 "applied 3 patches" "$P/scripts/apply.sh" --force
rm -rf "$WT"
expect "apply recreates a deleted work tree" 0 "applied 3 patches" "$P/scripts/apply.sh"
# Killed while creating the work tree: after the worktree entry was made
# and locked ("initializing") and the directory removed by the developer;
# or after the state said "creating", with files not yet checked out.
CR=$(git -C "$WT" rev-parse --path-format=absolute --git-common-dir)
git --git-dir="$CR" worktree add -q --no-checkout --detach "$W/wt-killed" "$PIN"
git --git-dir="$CR" worktree lock --reason initializing "$W/wt-killed"
rm -rf "$W/wt-killed"
expect "apply after a killed worktree creation whose directory was removed succeeds" 0 "applied 3 patches" \
	"$P/scripts/apply.sh" --work-tree "$W/wt-killed" --branch killed-1
git --git-dir="$CR" worktree add -q --no-checkout -b killed-2 "$W/wt-killed2" "$PIN"
echo "creating $PIN" >"$(git -C "$W/wt-killed2" rev-parse --path-format=absolute --git-path kvm-s390-arm64-state)"
expect "apply after one killed while checking out the new work tree (files missing) succeeds" 0 "applied 3 patches" \
	"$P/scripts/apply.sh" --work-tree "$W/wt-killed2" --branch killed-2
check "and the work tree is then complete and clean" test -z "$(git -C "$W/wt-killed2" status --porcelain)"
# Two first-time applies at once: one makes the work tree, the other waits
# and is refused with exit 5 (or, if the first has finished, resets it).
"$P/scripts/apply.sh" --work-tree "$W/wt-race" --branch race >"$W/race1.log" 2>&1 &
r1=$!
"$P/scripts/apply.sh" --work-tree "$W/wt-race" --branch race >"$W/race2.log" 2>&1
rc2=$?
wait "$r1"
rc1=$?
cat "$W/race1.log" "$W/race2.log" >"$T_OUT"
check "two first-time applies at once: both end with 0 or the documented 5, never git's 128" \
	sh -c "[ $rc1 = 0 ] && { [ $rc2 = 0 ] || [ $rc2 = 5 ]; } || { [ $rc2 = 0 ] && [ $rc1 = 5 ]; }"
run diff -r "$W/patches.1" "$P/patches"
check "the bad cases left patches/ as it was" test "$RC" = 0

# --- read-only caches, faults -----------------------------------------------
# Root writes through file modes, so a read-only cache is made the ways root
# cannot write through either: a file where the cache directory should be,
# and a read-only bind mount in a mount namespace of the command's own
# (unshare -m), which goes away with it.
: >"$W/a-file"
run env XDG_CACHE_HOME="$W/a-file" "$P/scripts/fetch-base.sh" --tarball "$TB"
check "fetch-base with the cache under a file: exit 3, one line naming the path" \
	sh -c "[ $RC = 3 ] && [ \"\$(wc -l <'$T_OUT')\" = 1 ] && grep -q 'error: $W/a-file/kvm-s390-arm64 cannot be made a directory: $W/a-file is not one' '$T_OUT'"
expect "apply with the cache under a file: exit 3, naming the path, no work tree made" 3 "error: $W/a-file/kvm-s390-arm64 cannot" \
	env XDG_CACHE_HOME="$W/a-file" "$P/scripts/apply.sh" --work-tree "$W/wt-nocache"
check "... and no work tree made" test ! -e "$W/wt-nocache"
# ro_run DIR CMD...: CMD with DIR mounted read-only.
# shellcheck disable=SC2016 # expanded by the inner sh
ro_run() {
	unshare -m --propagation private sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"' _ "$@"
}
mkdir -p "$W/ro-probe"
# shellcheck disable=SC2016 # expanded by the inner sh
if ro_run "$W/ro-probe" sh -c '! touch "$1/x" 2>/dev/null' _ "$W/ro-probe" 2>/dev/null; then
	echo "/* kept */" >>"$WT/drivers/d9.c"
	expect "apply --force with a read-only base repository (linux.git): exit 3 naming it" 3 "error: $repo is not writable" \
		ro_run "$repo" "$P/scripts/apply.sh" --force
	check "... before anything changed: the edit is still in the work tree, nothing kept" \
		sh -c "grep -q kept '$WT/drivers/d9.c' && [ \"\$(grep -c . '$T_OUT')\" = 1 ]"
	git -C "$WT" checkout -q -- drivers/d9.c
	commit_change "$WT" 7
	expect "export with a read-only base repository: exit 3 naming the work tree's git directory in it" 3 \
		"error: $repo/worktrees/[^ ]* is not writable" ro_run "$repo" "$P/scripts/export.sh"
	run diff -r "$W/patches.1" "$P/patches"
	check "... before anything changed: patches/ is as it was" test "$RC" = 0
	git -C "$WT" reset -q --hard HEAD~1
else
	for t in "apply --force with a read-only base repository (linux.git)" "... before anything changed (apply)" \
		"export with a read-only base repository" "... before anything changed (export)"; do
		t_skip "$t" "no read-only bind mount here (unshare -m and mount need CAP_SYS_ADMIN)"
	done
fi
# Codes no script means: git's 128 (a cache repository whose config git
# cannot read; a git that fails), a tool that exits 127 or 255.
mkdir -p "$W/cache-badcfg/kvm-s390-arm64"
git init -q --bare "$W/cache-badcfg/kvm-s390-arm64/linux.git"
printf '[core\n' >>"$W/cache-badcfg/kvm-s390-arm64/linux.git/config"
expect "fetch-base: git's exit 128 becomes exit 1, with one line naming the command and its line" 1 \
	"fetch-base.sh: error: 'git' failed \(exit 128, line [0-9]+ of fetch-base.sh\)" \
	env XDG_CACHE_HOME="$W/cache-badcfg" "$P/scripts/fetch-base.sh" --tarball "$TB"
expect "apply: git's exit 128 in fetch-base reaches apply as exit 1" 1 "fetch-base.sh: error: 'git' failed \(exit 128" \
	env XDG_CACHE_HOME="$W/cache-badcfg" "$P/scripts/apply.sh" --tarball "$TB" --work-tree "$W/wt-badcfg"
# shim DIR NAME CODE WORD: DIR/NAME, which exits CODE when WORD is among
# its arguments and runs the real NAME otherwise.
shim() {
	mkdir -p "$1"
	printf '#!/bin/sh\ncase " $* " in *" %s "*) exit %s ;; esac\nexec %s "$@"\n' "$4" "$3" "$(command -v "$2")" >"$1/$2"
	chmod +x "$1/$2"
}
shim "$W/shim-git" git 128 format-patch
commit_change "$WT" 7
expect "export: git's exit 128 becomes exit 1, naming the command" 1 "export.sh: error: 'git' failed \(exit 128, line [0-9]+ of export.sh\)" \
	env PATH="$W/shim-git:$PATH" "$P/scripts/export.sh"
run diff -r "$W/patches.1" "$P/patches"
check "... and patches/ is as it was" test "$RC" = 0
git -C "$WT" reset -q --hard HEAD~1
shim "$W/shim-sum" sha256sum 255 "$P/patches/0000-cover-letter.patch"
expect "mbox: a tool's exit 255 becomes exit 1" 1 "mbox.sh: error: .*failed \(exit 255, line [0-9]+ of mbox.sh\)" \
	env PATH="$W/shim-sum:$PATH" "$P/scripts/mbox.sh" -o "$W/series.mbox"
shim "$W/shim-sum127" sha256sum 127 "$P/patches/0000-cover-letter.patch"
expect "mbox: a command that cannot be run (exit 127) is exit 3" 3 "mbox.sh: error: .*could not be run \(exit 127, line [0-9]+ of mbox.sh\)" \
	env PATH="$W/shim-sum127:$PATH" "$P/scripts/mbox.sh" -o "$W/series.mbox"

# --- untracked files in the way ---------------------------------------------
# A series that deletes a file of the base and adds one: an untracked file
# at either path is in the way of the reset to the base or of git am.
P3=$W/proj3
WT3=$P3/build/linux
PIN=$PIN new_project "$P3"
"$P3/scripts/apply.sh" --branch way >/dev/null 2>&1
git -C "$WT3" rm -q drivers/d40.c
echo 'int added(void);' >"$WT3/drivers/added.c"
git -C "$WT3" add drivers/added.c
GIT_AUTHOR_DATE=2026-02-01T10:00:00+0000 git "${ident[@]}" -C "$WT3" commit -q -m "drivers: Replace d40 by added" -m "Signed-off-by: $KSA_NAME <$KSA_EMAIL>"
"$P3/scripts/export.sh" --branch way >/dev/null 2>&1
echo "mine" >"$WT3/drivers/d40.c"
expect "apply refuses an untracked file where the base has one (the reset would overwrite it), naming it" 5 \
	"untracked files .*\(drivers/d40.c\).*--force" "$P3/scripts/apply.sh" --branch way
check "... and leaves it" grep -qx mine "$WT3/drivers/d40.c"
expect "apply --force keeps it under a kept ref, naming it" 0 \
	"kept the untracked files at paths the base or the series has \(drivers/d40.c\) as refs/kvm-s390-arm64/kept/" "$P3/scripts/apply.sh" --branch way --force
kept_ref=$(sed -n 's/.* as \(refs\/kvm-s390-arm64\/kept\/[^ ]*\) .*/\1/p' "$T_OUT" | tail -n 1)
check "the kept ref has the file (git stash show -p --include-untracked REF)" \
	sh -c "git -C '$WT3' stash show -p --include-untracked '$kept_ref' | grep -qx '+mine'"
git -C "$WT3" reset -q --hard "$PIN"
echo "mine too" >"$WT3/drivers/added.c"
expect "apply --force with an untracked file where a patch adds one keeps it, naming it" 0 \
	"kept the untracked files at paths the base or the series has \(drivers/added.c\)" "$P3/scripts/apply.sh" --branch way --force
check "... and git am does not stop on it" grep -q "applied 1 patches" "$T_OUT"
kept_ref=$(sed -n 's/.* as \(refs\/kvm-s390-arm64\/kept\/[^ ]*\) .*/\1/p' "$T_OUT" | tail -n 1)
git -C "$WT3" checkout -q -f --detach "$PIN"
git -C "$WT3" stash apply -q "$kept_ref" >/dev/null 2>&1
check "git stash apply REF brings it back" grep -qx "mine too" "$WT3/drivers/added.c"

# --- interrupted apply ------------------------------------------------------
P2=$W/proj2
PIN=$PIN new_project "$P2"
expect "a second work tree on the same branch of the cache is refused" 5 "is checked out in .*pass --branch" \
	"$P2/scripts/apply.sh"
check "the first work tree keeps its branch" test "$(git -C "$WT" symbolic-ref --short HEAD)" = kvm-s390-arm64
export XDG_CACHE_HOME=$W/cache2 KSA_BASE_TARBALL=$TB
"$P2/scripts/apply.sh" >/dev/null 2>&1
for i in $(seq 1 200); do commit_change "$P2/build/linux" $((i % 40 + 1)) || break; done
"$P2/scripts/export.sh" >/dev/null 2>&1
cp -r "$P2/patches" "$W/patches.2"
setsid "$P2/scripts/apply.sh" >"$W/interrupted.log" 2>&1 &
pid=$!
killed=0
for _ in $(seq 1 400); do
	if [ -d "$P2/build/linux/.git" ] || [ -f "$P2/build/linux/.git" ]; then
		if [ -d "$(git -C "$P2/build/linux" rev-parse --git-path rebase-apply 2>/dev/null)" ] &&
			[ "$(git -C "$P2/build/linux" rev-list --count "$PIN..HEAD" 2>/dev/null)" -gt 5 ]; then
			kill -9 -- "-$pid" 2>/dev/null && killed=1
			break
		fi
	fi
	sleep 0.05
done
wait "$pid" 2>/dev/null
if [ "$killed" = 1 ]; then
	t_ok "apply was killed in the middle of git am ($(git -C "$P2/build/linux" rev-list --count "$PIN..HEAD") of 200 patches)"
else
	t_fail "apply was killed in the middle of git am" "$W/interrupted.log"
fi
expect "apply after an interrupted apply continues" 0 "applied 200 patches" "$P2/scripts/apply.sh"
# Killed just as git am starts: an empty rebase-apply/, which git calls a
# rebase in progress.
mkdir "$(git -C "$P2/build/linux" rev-parse --path-format=absolute --git-path rebase-apply)"
echo "applying $PIN" >"$(git -C "$P2/build/linux" rev-parse --path-format=absolute --git-path kvm-s390-arm64-state)"
expect "apply after one killed as git am started (empty rebase-apply/) continues" 0 "applied 200 patches" "$P2/scripts/apply.sh"
"$P2/scripts/export.sh" >/dev/null 2>&1
run diff -r "$W/patches.2" "$P2/patches"
check "after the interruption the round trip of 200 patches is byte-identical" \
	test "$RC" = 0 -a "$(grep -vc '^#' "$P2/series")" = 200

# --- UAPI ABI comparison ----------------------------------------------------
A=$W/abi
mkdir -p "$A/old/include/linux"
cat >"$A/old/include/linux/t.h" <<'HDR'
#ifndef _T_H
#define _T_H
struct t_s {
	unsigned long long a;
	unsigned int b;
};
#define T_IOC ((1U << 30) | (sizeof(struct t_s) << 16) | 0x7801)
#define T_FLAG 0x10
#define T_NAME "not a number"
enum { T_A = 1, T_B = 2 };
#endif
HDR
abi() { "$KSA_ROOT/scripts/uapi-abi.sh" "$@"; }
cp -r "$A/old" "$A/same"
expect "uapi-abi: identical headers have the same ABI" 0 "" abi --compare x86_64 "$A/old" "$A/same" linux/t.h
run abi x86_64 "$A/old" linux/t.h
check "uapi-abi: the dump has the ioctl number, the enumerators and the layout" \
	grep -qx 'const T_IOC = 1074821121' "$T_OUT"
check "uapi-abi: ... and the enumerators, but no string macro" \
	sh -c "grep -qx 'const T_B = 2' '$T_OUT' && ! grep -q T_NAME '$T_OUT'"
check "uapi-abi: ... and the member offsets and sizes" grep -Eq 'int +b; +/\* +8 +4 \*/' "$T_OUT"
cp -r "$A/old" "$A/moved"
sed -i '/#define T_FLAG/d; s|#define _T_H|#define _T_H\n#include <linux/t-generic.h>|' "$A/moved/include/linux/t.h"
printf '#define T_FLAG 0x10\n' >"$A/moved/include/linux/t-generic.h"
expect "uapi-abi: a definition moved to an included header keeps the ABI" 0 "" \
	abi --compare x86_64 "$A/old" "$A/moved" linux/t.h linux/t-generic.h
cp -r "$A/old" "$A/layout"
sed -i 's/unsigned long long a;/unsigned int a;/' "$A/layout/include/linux/t.h"
expect "uapi-abi: a changed member type changes the layout and the ioctl number" 1 \
	'^\+const T_IOC = 1074296833' abi --compare x86_64 "$A/old" "$A/layout" linux/t.h
cp -r "$A/old" "$A/enum"
sed -i 's/T_B = 2/T_B = 3/' "$A/enum/include/linux/t.h"
expect "uapi-abi: a changed enumerator is an ABI change" 1 '^\+const T_B = 3' \
	abi --compare x86_64 "$A/old" "$A/enum" linux/t.h
cp -r "$A/old" "$A/broken"
echo 'struct t_s x y;' >>"$A/broken/include/linux/t.h"
expect "uapi-abi: a header that does not compile is exit 4" 4 "do not compile" \
	abi --compare x86_64 "$A/old" "$A/broken" linux/t.h

# A header whose macros use a name from a header it does not include (as
# arm64's asm/kvm.h uses KVM_REG_ARM64 from linux/kvm.h) loses those macros
# all at once, however many there are; the others keep their values, in
# unsigned decimal on every architecture.
mkdir -p "$A/undecl/include/linux"
{
	echo '#define U_OK 7'
	echo '#define U_NEG -1'
	for i in $(seq 1 20); do echo "#define U_BAD$i (U_OTHER | $i)"; done
} >"$A/undecl/include/linux/u.h"
run abi x86_64 "$A/undecl" linux/u.h
check "uapi-abi: 20 macros that use an undeclared name are dropped, the others kept" \
	sh -c "[ $RC = 0 ] && grep -qx 'const U_OK = 7' '$T_OUT' && ! grep -q U_BAD '$T_OUT'"
check "uapi-abi: a negative constant is printed in unsigned decimal" grep -qx 'const U_NEG = 18446744073709551615' "$T_OUT"
printf '#define M_ONLY 0x8000000000000000\n' >"$A/undecl/include/linux/m.h"
expect "uapi-abi: a header of macros alone (no type for pahole) dumps its constants" 0 '^const M_ONLY = 9223372036854775808$' \
	abi s390 "$A/undecl" linux/m.h

# uapi-abi --prelude: a header whose macros build on one it does not
# include (arm64's asm/kvm.h on KVM_REG_ARM64 of linux/kvm.h) keeps them.
mkdir -p "$A/pre/include/asm"
printf '#define T_REG (KVM_REG_X | 5)\n#define T_PLAIN 3\n' >"$A/pre/include/asm/r.h"
printf '#define KVM_REG_X 0x6000000000000000ULL\n' >"$A/prelude.h"
run abi --prelude "$A/prelude.h" x86_64 "$A/pre" asm/r.h
check "uapi-abi --prelude: a macro built on the prelude's definitions is dumped, the prelude's own are not" \
	sh -c "[ $RC = 0 ] && grep -qx 'const T_REG = 6917529027641081861' '$T_OUT' && ! grep -q KVM_REG_X '$T_OUT'"
run abi x86_64 "$A/pre" asm/r.h
check "uapi-abi: without the prelude that macro is dropped (the prelude is needed)" \
	sh -c "[ $RC = 0 ] && grep -qx 'const T_PLAIN = 3' '$T_OUT' && ! grep -q T_REG '$T_OUT'"

# check_headers' foreign_uapi: what s390 installs under arch/arm64/ must be
# the same step's arm64 headers as the tree's gen-foreign-uapi.sh rewrites
# them, with arm64's ABI when compiled for s390, and nothing more.  The
# generator here does the two rewrites of patch 4's; a naive one (no
# __uint128_t rewrite) shows that the ABI comparison catches what the bytes
# cannot.
# shellcheck disable=SC2034,SC2317 # the variables serve the eval'd function
foreign_on() (
	TOOL_ERRORS=$(mktemp) VT=$A/fvt
	eval "$(sed -n '/^foreign_uapi() {/,/^}/p' "$KSA_ROOT/scripts/checks/uapi.sh")"
	foreign_uapi "$A/fa" "$A/fs" "${1:-$A/fvt}"
	[ -s "$TOOL_ERRORS" ] && { echo "TOOL ERROR"; cat "$TOOL_ERRORS"; }
	rm -f "$TOOL_ERRORS"
)
cat >"$A/fgen.sh" <<'GEN'
in=$1
shift
sed -E -e "s@^#include <asm/([a-z_]+\.h)>@#include <arch/arm64/asm/\1>@" -e 's/\<__uint128_t\>/__u128/g' "$in"
GEN
# shellcheck disable=SC2016 # a literal "$in" of the generator
sed 's/ -e .s\/\\<__uint128_t.*"\$in"/ "$in"/' "$A/fgen.sh" >"$A/fgen-naive.sh"
foreign_reset() {
	rm -rf "$A/fa" "$A/fs"
	mkdir -p "$A/fa/include/asm" "$A/fa/include/linux" "$A/fs/include/arch/arm64/asm" "$A/fs/include/linux"
	printf 'typedef unsigned long long __u64;\ntypedef unsigned __int128 __u128 __attribute__((aligned(16)));\n' |
		tee "$A/fa/include/linux/types.h" >"$A/fs/include/linux/types.h"
	printf '#define KVM_REG_X 0x6000000000000000ULL\n' >"$A/fa/include/linux/kvm.h"
	cat >"$A/fa/include/asm/t.h" <<'HDR'
#ifndef _T_H
#define _T_H
#include <linux/types.h>
#include <asm/u.h>
struct t_regs {
	__u64 a;
	__uint128_t v[2];
};
#define T_X 5
#define T_REG (KVM_REG_X | 7)
#endif
HDR
	printf '#define U_Y 0x8000000000000000ULL\n' >"$A/fa/include/asm/u.h"
	sh "${1:-$A/fgen.sh}" "$A/fa/include/asm/t.h" t.h u.h >"$A/fs/include/arch/arm64/asm/t.h"
	cp "$A/fa/include/asm/u.h" "$A/fs/include/arch/arm64/asm/u.h"
}
# Trees with the generator and the Kbuild list of copied headers.
for v in fvt:fgen fvt-naive:fgen-naive hvt:fgen; do
	mkdir -p "$A/${v%%:*}/arch/arm64/tools" "$A/${v%%:*}/include/uapi/arch/arm64"
	cp "$A/${v#*:}.sh" "$A/${v%%:*}/arch/arm64/tools/gen-foreign-uapi.sh"
	echo 'foreign-y := t.h u.h' >"$A/${v%%:*}/include/uapi/arch/arm64/Kbuild"
done
echo 'foreign-y := kvm.h' >"$A/hvt/include/uapi/arch/arm64/Kbuild"
foreign_reset
run foreign_on
check "verify-bisect UAPI: arm64's headers as gen-foreign-uapi.sh rewrites them, under arch/arm64/ on s390, pass" \
	sh -c "[ $RC = 0 ] && [ ! -s '$T_OUT' ]"
foreign_reset "$A/fgen-naive.sh"
run foreign_on "$A/fvt-naive"
check "verify-bisect UAPI: a copy with the host's 128-bit alignment fails on the layouts (40 bytes on s390, 48 on arm64)" \
	sh -c "grep -q 'another ABI than on arm64' '$T_OUT' && grep -q '/\\* size: 40 \\*/' '$T_OUT' && grep -q '/\\* size: 48 \\*/' '$T_OUT' &&
	 ! grep -q 'is not arm64' '$T_OUT' && ! grep -q 'TOOL ERROR' '$T_OUT'"
foreign_reset
echo '#define E 1' >"$A/fs/include/arch/arm64/asm/extra.h"
sed -i 's/#define T_X 5/#define T_X 6/' "$A/fs/include/arch/arm64/asm/t.h"
run foreign_on
check "verify-bisect UAPI: a header that the tree's Kbuild does not copy and a changed copy fail, each named" sh -c \
	"grep -q 'arch/arm64/asm/extra.h is not one of the headers' '$T_OUT' &&
	 grep -q \"arch/arm64/asm/t.h is not arm64's asm/t.h\" '$T_OUT' && grep -q '^+#define T_X 6' '$T_OUT'"
foreign_reset
run foreign_on "$A/nowhere"
check "verify-bisect UAPI: arch/arm64/ on s390 without the tree's generator fails" grep -q 'the tree has no' "$T_OUT"
foreign_reset
rm "$A/fs/include/arch/arm64/asm/u.h"
run foreign_on
check "verify-bisect UAPI: a header that the tree's Kbuild copies but s390 does not install fails" \
	grep -q 'arch/arm64/asm/u.h is not installed, although' "$T_OUT"
# A generator that rewrites more than the two rewrites certifies its own
# copy; the check without the script still sees it.
mkdir -p "$A/fvt-bad/arch/arm64/tools" "$A/fvt-bad/include/uapi/arch/arm64"
cp "$A/fvt/include/uapi/arch/arm64/Kbuild" "$A/fvt-bad/include/uapi/arch/arm64/"
# shellcheck disable=SC2016 # a literal "$in" of the generator
{ cat "$A/fgen.sh"; echo ' | sed "s/T_X 5/T_X 5U/"'; } | sed -z 's/"\$in"\n | sed/"$in" | sed/' >"$A/fvt-bad/arch/arm64/tools/gen-foreign-uapi.sh"
foreign_reset "$A/fvt-bad/arch/arm64/tools/gen-foreign-uapi.sh"
run foreign_on "$A/fvt-bad"
check "verify-bisect UAPI: a copy changed beyond the two rewrites fails even when the tree's generator made it" sh -c \
	"grep -q 'differs from arm64.s asm/t.h by more than the two rewrites' '$T_OUT' && grep -q '^+#define T_X 5U' '$T_OUT' && ! grep -q 'as gen-foreign-uapi.sh rewrites it' '$T_OUT'"

# verify-bisect's check_headers on two synthetic installed trees: the base's
# bytes and the arm64 UAPI added on s390 pass; a move into a new header (the
# kvm-generic.h split), an ABI change, a stray or a lost header fail.
# shellcheck disable=SC2034,SC2317 # the variables and stubs serve the eval'd function
check_headers_on() (
	RES=$A/res base=b commits=(b s1) HEADER_ARCHES=(x86_64 s390)
	TOOL_ERRORS=$(mktemp)
	have_result() { return 1; }
	put_result() { echo "RESULT $3:"; cat; }
	tool_errors() { [ -s "$TOOL_ERRORS" ] && { echo "TOOL ERROR"; cat "$TOOL_ERRORS"; }; }
	install_headers() { return 0; }
	checkout() { return 0; }
	VT=$A/hvt
	changed_files() { echo "${T_CHANGED:-include/uapi/linux/t.h}"; }
	eval "$(sed -n '/^check_headers() {/,/^}/p; /^foreign_uapi() {/,/^}/p' "$KSA_ROOT/scripts/checks/uapi.sh")"
	check_headers 1
	rm -f "$TOOL_ERRORS"
)
hdr_reset() {
	local a
	rm -rf "$A/res"
	for a in x86_64 s390; do
		mkdir -p "$A/res/b" "$A/res/s1"
		cp -r "$A/old" "$A/res/b/headers-$a"
		cp -r "$A/old" "$A/res/s1/headers-$a"
	done
	mkdir -p "$A/res/s1/headers-s390/include/arch/arm64/asm" "$A/res/s1/headers-arm64/include/asm"
	echo '#define A64 1' >"$A/res/s1/headers-s390/include/arch/arm64/asm/kvm.h"
	echo '#define A64 1' >"$A/res/s1/headers-arm64/include/asm/kvm.h"
	mkdir -p "$A/res/s1/headers-arm64/include/linux"
	echo '#define KVM_REG_ARM64 0x6000000000000000ULL' >"$A/res/s1/headers-arm64/include/linux/kvm.h"
}
hdr_reset
run check_headers_on
check "verify-bisect UAPI: the base's bytes, and the arm64 UAPI added under arch/arm64/ on s390, pass" \
	sh -c "grep -q 'RESULT pass:' '$T_OUT' && grep -q 'byte for byte' '$T_OUT'"
cp "$A/moved/include/linux/t.h" "$A/res/s1/headers-x86_64/include/linux/t.h"
printf '#define T_FLAG 0x10\n' >"$A/res/s1/headers-x86_64/include/linux/kvm-generic.h"
sed -i 's/t-generic/kvm-generic/' "$A/res/s1/headers-x86_64/include/linux/t.h"
run check_headers_on
check "verify-bisect UAPI: a move into a new linux/kvm-generic.h fails on x86_64 although the ABI is the same, naming both files" sh -c \
	"grep -q 'RESULT fail:' '$T_OUT' && grep -q 'x86_64: new installed header linux/kvm-generic.h' '$T_OUT' &&
	 grep -q 'x86_64: linux/t.h differs from the base' '$T_OUT' && grep -q 'same ABI in linux/t.h' '$T_OUT' && ! grep -q s390: '$T_OUT'"
hdr_reset
mkdir -p "$A/res/s1/headers-s390/include/arch/x86" "$A/res/s1/headers-x86_64/include/arch/arm64/asm"
echo '#define X 1' >"$A/res/s1/headers-s390/include/arch/x86/bad.h"
echo '#define A64 1' >"$A/res/s1/headers-x86_64/include/arch/arm64/asm/kvm.h"
cp "$A/layout/include/linux/t.h" "$A/res/s1/headers-s390/include/linux/t.h"
run check_headers_on
check "verify-bisect UAPI: a stray directory on s390, the arm64 UAPI on x86_64 and an ABI change fail, each named" sh -c \
	"grep -q 'RESULT fail:' '$T_OUT' && grep -q 's390: new installed header arch/x86/bad.h' '$T_OUT' &&
	 grep -q 'x86_64: new installed header arch/arm64/asm/kvm.h' '$T_OUT' && grep -q 's390: the ABI of linux/t.h changed' '$T_OUT'"
hdr_reset
echo '#define A64 2' >"$A/res/s1/headers-s390/include/arch/arm64/asm/kvm.h"
run check_headers_on
check "verify-bisect UAPI: check_headers fails an arm64 UAPI on s390 that is not arm64's" sh -c \
	"grep -q 'RESULT fail:' '$T_OUT' && grep -q \"s390: arch/arm64/asm/kvm.h is not arm64's asm/kvm.h\" '$T_OUT'"
hdr_reset
rm "$A/res/s1/headers-x86_64/include/linux/t.h"
run check_headers_on
check "verify-bisect UAPI: a header that is no longer installed fails, named" sh -c \
	"grep -q 'RESULT fail:' '$T_OUT' && grep -q 'x86_64: installed header gone: linux/t.h' '$T_OUT'"
hdr_reset
T_CHANGED=drivers/vfio/vfio_main.c run check_headers_on
check "verify-bisect UAPI: a step that changes no input of headers_install is 'unchanged inputs', not a pass" \
	grep -q 'RESULT same:' "$T_OUT"
T_CHANGED=arch/s390/kernel/syscalls/syscall.tbl run check_headers_on
check "verify-bisect UAPI: a changed syscall table is an input (the headers are compared)" \
	sh -c "grep -q 'RESULT pass:' '$T_OUT' && grep -q 'headers compared' '$T_OUT'"

# ksa_am, the one apply loop of apply.sh, verify-bisect and the runtime
# tests, ignores the user's git configuration: with commit.gpgsign=true and
# a gpg that fails, plain git am fails and ksa_am does not.
mkdir -p "$A/amhome"
printf '[commit]\n\tgpgsign = true\n[gpg]\n\tprogram = false\n' >"$A/amhome/.gitconfig"
git -C "$WT" checkout -q -f --detach "$PIN"
run env HOME="$A/amhome" git -C "$WT" -c user.name=x -c user.email=x@example.org am -q -3 "$W/p2"
check "ksa_am test: git am with the user's commit.gpgsign fails (the test can fail)" test "$RC" != 0
git -C "$WT" am --abort >/dev/null 2>&1
git -C "$WT" checkout -q -f --detach "$PIN"
# shellcheck disable=SC2016 # expanded by the inner bash
run env HOME="$A/amhome" bash -c 'source "$1/scripts/lib.sh"; ksa_am "$2" "$3"' _ "$KSA_ROOT" "$WT" "$W/p2"
check "ksa_am applies the patch despite the user's commit.gpgsign" test "$RC" = 0
git -C "$WT" checkout -q -f --detach "$PIN"
git -C "$WT" config commit.gpgsign true
git -C "$WT" config gpg.program false
# shellcheck disable=SC2016 # expanded by the inner bash
run bash -c 'source "$1/scripts/lib.sh"; ksa_am "$2" "$3"' _ "$KSA_ROOT" "$WT" "$W/p2"
check "ksa_am applies the patch despite commit.gpgsign in the repository's own config" test "$RC" = 0
git -C "$WT" config --unset commit.gpgsign
git -C "$WT" config --unset gpg.program
git -C "$WT" checkout -q -f kvm-s390-arm64

# verify-bisect's disasm check (scripts/checks/disasm.sh) on kept objects of
# three synthetic steps: the same code passes, a changed function fails
# unless disasm.explained lists it for that patch, a listed function that
# no longer differs fails, and a step that did not build compares the next
# one with the step before it.
# shellcheck disable=SC2034,SC2317 # the variables and stubs serve the eval'd functions
disasm_on() (
	RES=$A/dres commits=(c0 c1 c2) patches=(p1.patch p2.patch)
	TOOL_ERRORS=$(mktemp)
	on() { return 0; }
	result_file() { printf '%s/%s/%s' "$RES" "${commits[$1]}" "$2"; }
	have_result() { return 1; }
	put_result() { echo "RESULT $3:"; cat; }
	tool_errors() { [ -s "$TOOL_ERRORS" ] && { echo "TOOL ERROR"; cat "$TOOL_ERRORS"; }; }
	eval "$(sed -n '/^explained() {/,/^}/p; /^check_disasm() {/,/^}/p' "$KSA_ROOT/scripts/checks/disasm.sh")"
	eval "$(sed -n '/^built_at() {/,/^}/p' "$KSA_ROOT/scripts/checks/build.sh")"
	declare -A DISASM_PATHS=([x86_64]=virt/kvm)
	DISASM_EXPLAINED=$A/dexplained
	check_disasm x86_64 "$1"
	rm -f "$TOOL_ERRORS"
)
disasm_obj() { # COMMIT BODY-OF-g
	mkdir -p "$A/dres/$1/objs-x86_64/virt/kvm"
	printf 'int f(int x) { return x * 3; }\nint g(int x) { %s }\n' "$2" >"$A/dres/$1/g.c"
	gcc -O2 -c -o "$A/dres/$1/objs-x86_64/virt/kvm/k.o" "$A/dres/$1/g.c"
	echo pass >"$A/dres/$1/build-x86_64"
}
# The objects kept are those the build links, not every .o of the build
# directory: a stale object (a file no longer built) is left out, and the
# objects of a partial link are followed through its .cmd file.
LO=$A/lobj
rm -rf "$LO" && mkdir -p "$LO/virt/kvm/hyp"
for o in a b stale hyp/h1 hyp/h2; do echo "int f_${o##*/}(void) { return 1; }" >"$LO/virt/kvm/$o.c" && gcc -c -o "$LO/virt/kvm/$o.o" "$LO/virt/kvm/$o.c"; done
(cd "$LO" && ld -r -o virt/kvm/hyp/part.o virt/kvm/hyp/h1.o virt/kvm/hyp/h2.o &&
	echo 'savedcmd_virt/kvm/hyp/part.o := ld -r -o virt/kvm/hyp/part.o virt/kvm/hyp/h1.o virt/kvm/hyp/h2.o' >virt/kvm/hyp/.part.o.cmd &&
	ar cDPrST vmlinux.a virt/kvm/a.o virt/kvm/hyp/part.o && ar cDPrST virt/kvm/built-in.a virt/kvm/stale.o &&
	echo virt/kvm/m.o >modules.order && echo virt/kvm/b.o >virt/kvm/m.mod)
run bash -c 'source "$1/scripts/lib.sh"; eval "$(sed -n "/^linked_objects() {/,/^}/p" "$1/scripts/checks/disasm.sh")"; linked_objects "$2" ./virt/kvm/' _ "$KSA_ROOT" "$LO"
check "verify-bisect disasm: the objects kept are the linked ones (vmlinux.a, a module's .mod, a partial link's inputs), not a stale .o nor a stale archive's" \
	test "$(tr '\n' ' ' <"$T_OUT")" = "virt/kvm/a.o virt/kvm/b.o virt/kvm/hyp/h1.o virt/kvm/hyp/h2.o virt/kvm/hyp/part.o "
rm -rf "$A/dres"
disasm_obj c0 'return x + 1;'
disasm_obj c1 'return x + 1;'
disasm_obj c2 'return x - 7;'
: >"$A/dexplained"
run disasm_on 1
check "verify-bisect disasm: the same machine code as the step before passes" \
	sh -c "grep -q '^RESULT pass:' '$T_OUT' && grep -q 'the same machine code as step 0' '$T_OUT'"
run disasm_on 2
check "verify-bisect disasm: a changed function that disasm.explained does not list fails, named" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q '^differs virt/kvm/k.o:.text:g ' '$T_OUT' && ! grep -q ':f ' '$T_OUT'"
printf 'p2.patch\tvirt/kvm/k.o:.text:g\tg now subtracts (test)\n' >"$A/dexplained"
run disasm_on 2
check "verify-bisect disasm: ... and passes when it is explained for that patch" \
	sh -c "grep -q '^RESULT pass:' '$T_OUT' && grep -q '1 functions differ from step 1, each explained' '$T_OUT'"
printf 'p1.patch\tvirt/kvm/k.o:.text:f\tnot changed at all\n' >"$A/dexplained"
run disasm_on 1
check "verify-bisect disasm: an explained function that does not differ fails (stale explanation)" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q 'the same as at step 0' '$T_OUT' && grep -q 'k.o:.text:f' '$T_OUT'"
: >"$A/dexplained"
echo same >"$A/dres/c1/build-x86_64"
rm -rf "$A/dres/c1/objs-x86_64"
run disasm_on 1
check "verify-bisect disasm: a step that did not build again is 'unchanged inputs'" grep -q '^RESULT same:' "$T_OUT"
run disasm_on 2
check "verify-bisect disasm: the next step is compared with the last step that built" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q 'differ from step 0' '$T_OUT'"
rm -rf "$A/dres/c2/objs-x86_64" && mkdir -p "$A/dres/c2/objs-x86_64"
run disasm_on 2
check "verify-bisect disasm: a passing build of which no linked object was kept is a tool error, not a pass" \
	sh -c "grep -q '^TOOL ERROR' '$T_OUT' && grep -q 'no linked object of virt/kvm kept' '$T_OUT'"

# verify-bisect's generated check (scripts/checks/generated.sh): arm64's
# generated headers must be the base's, and s390's copies of arm64 headers
# exactly those its Makefile makes, each what arm64's generator makes of
# arm64's input at the step.
# shellcheck disable=SC2034,SC2317 # the variables and stubs serve the eval'd functions
generated_on() (
	RES=$A/gres commits=(c0 c1) VT=$A/gtree KSA_OUT=$A/gout build_arches=(x86_64 arm64 s390)
	on() { return 0; }
	checkout() { :; }
	result_file() { printf '%s/%s/%s' "$RES" "${commits[$1]}" "$2"; }
	have_result() { return 1; }
	put_result() { echo "RESULT $3:"; cat; }
	eval "$(sed -n '/^declare -A GENERATED_DIR/p; /^snapshot_generated() {/,/^}/p; /^generated_snapshot() {/,/^}/p; /^foreign_reference() {/,/^}/p; /^foreign_expected() {/,/^}/p; /^arm64_unmade() {/,/^}/p; /^check_generated() {/,/^}/p' "$KSA_ROOT/scripts/checks/generated.sh")"
	eval "$(sed -n '/^built_at() {/,/^}/p' "$KSA_ROOT/scripts/checks/build.sh")"
	"$@"
)
rm -rf "$A/gres" "$A/gtree" "$A/gout"
GA=$A/gout/arm64-kvm/arch/arm64/include/generated GS=$A/gout/s390-kvm/arch/s390/include/generated/arch/arm64
mkdir -p "$A/gtree/arch/arm64/tools" "$A/gtree/arch/s390" "$GA/asm" "$GS/asm" "$A/gres/c0" "$A/gres/c1"
echo 'kapisyshdr-y := cpucap-defs.h kernel-hwcap.h sysreg-defs.h' >"$A/gtree/arch/arm64/tools/Makefile"
# A generator of arm64's kind: its output depends on its input.
# shellcheck disable=SC2016 # awk's fields, not the shell's
printf '{ print "#define " $1 " " $2 }\n' >"$A/gtree/arch/arm64/tools/gen-sysreg.awk"
printf 'SYS_A 1\nSYS_B 2\n' >"$A/gtree/arch/arm64/tools/sysreg"
# shellcheck disable=SC2016 # make's variables
printf 'archprepare:\n\t$(Q)$(MAKE) $(build)=include/arch/arm64 all\n' >"$A/gtree/arch/s390/Makefile"
(cd "$A/gtree" && awk -f arch/arm64/tools/gen-sysreg.awk arch/arm64/tools/sysreg) >"$GA/asm/sysreg-defs.h"
echo 'savedcmd_x := awk' >"$GA/asm/.sysreg-defs.h.cmd"
cp "$GA/asm/sysreg-defs.h" "$GS/asm/"
for c in c0 c1; do for a in arm64 s390; do echo pass >"$A/gres/$c/build-$a"; done; done
gsnap() { generated_on snapshot_generated "$1" arm64 && generated_on snapshot_generated "$1" s390; }
gsnap 0 && gsnap 1
check "verify-bisect generated: a build's generated headers are kept per step, without Kbuild's .cmd files" \
	sh -c "[ -f '$A/gres/c1/generated-arm64/asm/sysreg-defs.h' ] && [ -f '$A/gres/c1/generated-s390/asm/sysreg-defs.h' ] && [ -z \"\$(find '$A/gres' -name '.*.cmd')\" ]"
run generated_on check_generated 1
check "verify-bisect generated: arm64's headers the base's and s390's copy arm64's generator's output pass" \
	sh -c "grep -q '^RESULT pass:' '$T_OUT' && grep -q 'arm64: the 1 files of arch/arm64/include/generated are the base' '$T_OUT' && grep -q 'sysreg-defs.h is what arm64.s generator makes.*the same file as arm64.s build made' '$T_OUT'"
echo '#define SYS_C 3' >>"$GA/asm/sysreg-defs.h"
gsnap 1
run generated_on check_generated 1
check "verify-bisect generated: a generated arm64 header that differs from the base's fails, with the diff" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q '^+#define SYS_C 3' '$T_OUT'"
cp "$A/gres/c0/generated-arm64/asm/sysreg-defs.h" "$GA/asm/"
echo '#include <asm-generic/new.h>' >"$GA/asm/new.h"
gsnap 1
run generated_on check_generated 1
check "verify-bisect generated: a generated arm64 header the base did not have fails, named" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q 'Only in step/asm: new.h' '$T_OUT'"
rm "$GA/asm/new.h"
mv "$GA/asm/sysreg-defs.h" "$A/gsave.h"
gsnap 1
run generated_on check_generated 1
check "verify-bisect generated: a generated arm64 header of the base that the build no longer has fails, named" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q 'Only in base' '$T_OUT'"
mv "$A/gsave.h" "$GA/asm/sysreg-defs.h"
echo 'kapisyshdr-y := cpucap-defs.h kernel-hwcap.h' >"$A/gtree/arch/arm64/tools/Makefile"
gsnap 1
run generated_on check_generated 1
check "verify-bisect generated: a header the step's arch/arm64/tools/Makefile no longer makes fails, although the build directory keeps the base's" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q 'no longer makes asm/sysreg-defs.h' '$T_OUT'"
echo 'kapisyshdr-y := cpucap-defs.h kernel-hwcap.h sysreg-defs.h' >"$A/gtree/arch/arm64/tools/Makefile"
gsnap 1
printf 'SYS_A 1\nSYS_B 5\n' >"$A/gtree/arch/arm64/tools/sysreg"
gsnap 1
run generated_on check_generated 1
check "verify-bisect generated: an s390 copy that is not what arm64's generator makes of the step's input fails, with the diff" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q '^-#define SYS_B 5' '$T_OUT' && grep -q 'arm64: the 1 files' '$T_OUT'"
printf 'SYS_A 1\nSYS_B 2\n' >"$A/gtree/arch/arm64/tools/sysreg"
echo x >"$GS/asm/other.h"
echo x >"$GS/asm/.hidden.h"
gsnap 1
run generated_on check_generated 1
check "verify-bisect generated: an s390 file the step's Makefile does not make fails, named (hidden ones too)" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q 'asm/other.h is not one that the step' '$T_OUT' && grep -q 'asm/.hidden.h is not one' '$T_OUT'"
rm "$GS/asm/other.h" "$GS/asm/.hidden.h"
echo '#define SYS_OTHER 1' >"$A/gres/c1/generated-arm64/asm/sysreg-defs.h"
run generated_on check_generated 1
check "verify-bisect generated: an s390 copy that differs from arm64's own build of the step fails" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q 'differs from arm64.s arch/arm64/include/generated/asm/sysreg-defs.h' '$T_OUT'"
gsnap 1
# shellcheck disable=SC2016 # make's variables
printf 'archprepare:\n#\t$(Q)$(MAKE) $(build)=include/arch/arm64 all\n' >"$A/gtree/arch/s390/Makefile"
run generated_on check_generated 1
check "verify-bisect generated: a commented-out call of include/arch/arm64 makes no copy, so the copy there is one the step does not make" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q 'asm/sysreg-defs.h is not one that the step' '$T_OUT'"
# shellcheck disable=SC2016 # make's variables
printf 'archprepare:\n\t$(Q)$(MAKE) $(build)=include/arch/arm64\n' >"$A/gtree/arch/s390/Makefile"
run generated_on check_generated 1
check "verify-bisect generated: a call of include/arch/arm64 at the end of its line is found" grep -q '^RESULT pass:' "$T_OUT"
rm "$GS/asm/sysreg-defs.h"
gsnap 1
run generated_on check_generated 1
check "verify-bisect generated: a copy that the step's Makefile makes and the build has not fails, named" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q 'asm/sysreg-defs.h is missing' '$T_OUT'"
ln -s "$GA/asm/sysreg-defs.h" "$GS/asm/sysreg-defs.h"
gsnap 1
run generated_on check_generated 1
check "verify-bisect generated: a symbolic link in place of the copy fails" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q 'is not a regular file' '$T_OUT'"
rm -r "$GS"
: >"$A/gtree/arch/s390/Makefile"
gsnap 1
echo same >"$A/gres/c1/build-arm64"
run generated_on check_generated 1
check "verify-bisect generated: no copies and no rule for them (before patch 5) passes and says so; arm64 not built again is unchanged inputs" \
	sh -c "grep -q '^RESULT pass:' '$T_OUT' && grep -q 's390: makes no arm64 header' '$T_OUT' && grep -q 'arm64: unchanged inputs' '$T_OUT'"
echo same >"$A/gres/c1/build-s390"
run generated_on check_generated 1
check "verify-bisect generated: a step that built neither arm64 nor s390 again is 'unchanged inputs'" grep -q '^RESULT same:' "$T_OUT"
echo pass >"$A/gres/c1/build-s390"
echo fail >"$A/gres/c1/build-arm64"
run generated_on check_generated 1
check "verify-bisect generated: a failed arm64 build makes the step 'not checked', although s390 passes, never passed" \
	sh -c "grep -q '^RESULT skip:' '$T_OUT' && grep -q 'arm64: not checked' '$T_OUT'"

# verify-bisect's clients check (scripts/checks/clients.sh) with two
# stand-in clients of the real ones' kind: kvmtool's copies a source file,
# QEMU's installs and copies.
# shellcheck disable=SC2034,SC2317 # the variables and stubs serve the eval'd functions
clients_on() (
	RES=$A/cres VT=$A/ctree CLIENTS_SCRATCH=
	mapfile -t commits < <(git -C "$VT" rev-list --reverse tip)
	KSA_CLIENTS_DIR=${T_CLIENTS:-$A/cclients} KSA_CLIENTS_CACHE=$A/ccache
	vgit() { git -C "$VT" "$@"; }
	checkout() { [ "$(vgit rev-parse HEAD)" = "$1" ] || vgit checkout -q -f --detach "$1"; }
	changed_files() { vgit diff --no-renames --name-only "${commits[$(($1 - 1))]}" "${commits[$1]}"; }
	have_result() { return 1; }
	put_result() { echo "RESULT $3:"; cat; }
	eval "$(sed -n '/^clients_cleanup() {/,/^}/p; /^client_outputs() {/,/^}/p; /^tree_diff() {/,/^}/p; /^check_clients() {/,/^}/p' "$KSA_ROOT/scripts/checks/clients.sh")"
	"$@"
)
rm -rf "$A/cres" "$A/ctree" "$A/cclients" "$A/ccache"
mkdir -p "$A/cclients/k/kvmtool/util" "$A/cclients/k/kvmtool/include/linux" "$A/ctree/include/uapi/linux" "$A/ctree/drivers"
# shellcheck disable=SC2016 # the stand-in's own variables
printf 'set -e\ncp "$1/include/uapi/linux/kvm.h" include/linux/\n' >"$A/cclients/k/kvmtool/util/update_headers.sh"
tar -cJf "$A/cclients/$KSA_KVMTOOL_TAR" -C "$A/cclients/k" kvmtool
# shellcheck disable=SC2016 # the stand-in's own variables
printf 'mkdir -p "$2/linux-headers/linux" "$2/linux-headers/asm-arm64"\ncp "$1/include/uapi/linux/kvm.h" "$2/linux-headers/linux/"\ncp "$1/include/uapi/linux/kvm.h" "$2/linux-headers/asm-arm64/kvm.h"\nfor i in $(seq 100); do echo $i >"$2/linux-headers/f$i.h"; done\n' >"$A/cclients/$KSA_QEMU_HDR"
cg() { git -C "$A/ctree" -c user.name=t -c user.email=t@t "$@"; }
echo '#define KVM_API 12' >"$A/ctree/include/uapi/linux/kvm.h"
echo '#define OTHER 1' >"$A/ctree/include/uapi/linux/other.h"
echo 'int x;' >"$A/ctree/drivers/x.c"
cg init -q && cg add -A && cg commit -qm base
echo 'int y;' >>"$A/ctree/drivers/x.c" && cg commit -qam "not what the scripts read"
echo '#define OTHER 2' >"$A/ctree/include/uapi/linux/other.h" && cg commit -qam "UAPI, not copied"
echo '#include <linux/kvm-generic.h>' >>"$A/ctree/include/uapi/linux/kvm.h" && cg commit -qam "an include added to kvm.h"
cg rm -q include/uapi/linux/kvm.h && cg commit -qm "kvm.h gone" && cg tag tip
cg checkout -q -f --detach HEAD~3
touch -d '2000-01-01' "$A/ctree/drivers/x.c"
run clients_on check_clients 1
check "verify-bisect clients: a step that touches nothing the header scripts read is 'unchanged inputs'" grep -q '^RESULT same:' "$T_OUT"
run clients_on client_outputs 0
check "verify-bisect clients: the base's outputs, of another commit than the work tree's, come from a scratch work tree, removed after (the work tree stays, its files keep their times)" \
	sh -c "[ \"\$(git -C '$A/ctree' rev-parse HEAD)\" = \"\$(git -C '$A/ctree' rev-parse tip~3)\" ] && [ \"\$(stat -c %Y '$A/ctree/drivers/x.c')\" = \"\$(date -d 2000-01-01 +%s)\" ] && [ -f '$A/ccache/headers-qemu-$(git -C "$A/ctree" rev-list --reverse tip | head -n 1 | cut -c1-12)-'*/done ] && [ \"\$(git -C '$A/ctree' worktree list | wc -l)\" = 1 ]"
run clients_on check_clients 2
check "verify-bisect clients: a UAPI step whose scripts' trees are the base's passes, both named in its first line" \
	sh -c "grep -q '^RESULT pass:' '$T_OUT' && grep -q '^header scripts: kvmtool.s gives the base.s tree (1 files copied); QEMU.s gives the base.s headers (102 files)$' '$T_OUT'"
cg checkout -q -f --detach tip~1
run clients_on check_clients 3
check "verify-bisect clients: an include added to a header that the scripts copy fails both, with the difference" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q 'kvmtool: util/update_headers.sh gives another kvmtool tree' '$T_OUT' && grep -q 'QEMU: update-linux-headers.sh gives other headers' '$T_OUT' && grep -q 'linux/kvm-generic.h' '$T_OUT'"
cg checkout -q -f --detach tip
run clients_on check_clients 4
check "verify-bisect clients: a script that fails at the step fails the check (QEMU's: not what it must write)" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q 'kvmtool: util/update_headers.sh fails at this step' '$T_OUT' && grep -q 'QEMU: update-linux-headers.sh fails at this step' '$T_OUT'"
# Another QEMU stand-in (another key: nothing kept is taken), which fails
# on the base.
mkdir -p "$A/cclients2"
cp "$A/cclients/$KSA_KVMTOOL_TAR" "$A/cclients2/"
# shellcheck disable=SC2016 # the stand-in's own variables
{ echo 'grep -q "OTHER 1" "$1/include/uapi/linux/other.h" && exit 1'; cat "$A/cclients/$KSA_QEMU_HDR"; } >"$A/cclients2/$KSA_QEMU_HDR"
cg checkout -q -f --detach tip~1
tier=ci run clients_on check_clients 3
check "verify-bisect clients --tier ci: kvmtool's script at the step (here it fails), QEMU's left to the clients suite, and said so" \
	sh -c "grep -q '^RESULT fail:' '$T_OUT' && grep -q 'kvmtool: util/update_headers.sh gives another kvmtool tree' '$T_OUT' && grep -q 'QEMU: update-linux-headers.sh not run at this step in --tier ci' '$T_OUT'"
cg checkout -q -f --detach tip~2
T_CLIENTS=$A/cclients2 run clients_on check_clients 2
check "verify-bisect clients: a script that fails on the base makes the step 'not checked', never passed nor blamed on the step" \
	sh -c "grep -q '^RESULT skip:' '$T_OUT' && grep -q '^not checked: .*QEMU.s fails on the base' '$T_OUT'"

# verify-bisect's build_inputs and untouched_inputs: the files a build read
# come from its .cmd files with their paths cleaned; a step whose files the
# build of the step before did not read is not built again; a read file, a
# build file, a file of the architecture that is not C, an added file, or a
# step before that failed is built.
# shellcheck disable=SC2034,SC2317 # the variables and stubs serve the eval'd functions
inputs_on() (
	RES=$A/ires commits=(c0 c1) VT=$A/itree
	changed_files() { printf '%s\n' "${T_CHANGED[@]}"; }
	added_files() { printf '%s\n' "${T_ADDED[@]}"; }
	eval "$(sed -n '/^build_inputs() {/,/^}/p; /^untouched_inputs() {/,/^}/p' "$KSA_ROOT/scripts/checks/build.sh")"
	"$@"
)
mkdir -p "$A/itree" "$A/ires/c0" "$A/ires/c1" "$A/iout/arch/arm64/kvm"
IT=$(realpath "$A/itree")
# shellcheck disable=SC2016 # a literal $(wildcard ...) of a .cmd file
printf 'savedcmd_x := gcc -I%s/include -c x.c\nsource_arch/arm64/kvm/kvm_main.o := %s/arch/arm64/kvm/../../../virt/kvm/kvm_main.c\ndeps_arch/arm64/kvm/kvm_main.o := \\\n  %s/include/linux/kvm_host.h \\\n  %s/./arch/arm64/include/asm/kvm_host.h \\\n  ../itree/include/linux/relative.h \\\n  $(wildcard include/config/KVM) \\\n\n' \
	"$IT" "$IT" "$IT" "$IT" >"$A/iout/arch/arm64/kvm/.kvm_main.o.cmd"
inputs_on build_inputs "$A/iout" 0 arm64
run cat "$A/ires/c0/build-arm64.inputs"
check "verify-bisect: the inputs of a build are its .cmd files' source paths (absolute or relative to the build directory), cleaned of . and .." \
	test "$(tr '\n' ' ' <"$T_OUT")" = "arch/arm64/include/asm/kvm_host.h include/linux/kvm_host.h include/linux/relative.h virt/kvm/kvm_main.c "
echo pass >"$A/ires/c0/build-arm64"
T_ADDED=()
T_CHANGED=(drivers/vfio/group.c arch/x86/kvm/x86.c)
expect "verify-bisect: a step whose files the arm64 build does not read is unchanged inputs" 0 "reads none of the 2 files" \
	inputs_on untouched_inputs arm64 1
for c in virt/kvm/kvm_main.c drivers/vfio/Makefile arch/arm64/tools/sysreg scripts/mod/modpost.c; do
	T_CHANGED=(drivers/vfio/group.c "$c")
	expect "verify-bisect: a step that changes $c is built" 1 "" inputs_on untouched_inputs arm64 1
done
T_CHANGED=(drivers/vfio/group.c) T_ADDED=(arch/arm64/include/asm/delay.h)
expect "verify-bisect: a step that adds a file is built" 1 "" inputs_on untouched_inputs arm64 1
T_ADDED=()
echo fail >"$A/ires/c0/build-arm64"
expect "verify-bisect: a step after a failed build is built" 1 "" inputs_on untouched_inputs arm64 1
echo pass >"$A/ires/c0/build-arm64"
mkdir -p "$A/itree/arch/s390/include/asm"
printf 'asm(".include \\"asm/cpu_mf-insn.h\\"");\n' >"$A/itree/arch/s390/include/asm/cpu_mf.h"
git -C "$A/itree" init -q && git -C "$A/itree" add -A
cp "$A/ires/c0/build-arm64" "$A/ires/c0/build-s390"
cp "$A/ires/c0/build-arm64.inputs" "$A/ires/c0/build-s390.inputs"
T_CHANGED=(arch/s390/include/asm/cpu_mf-insn.h)
# shellcheck disable=SC2317 # called by the eval'd function
vgit() { git -C "$A/itree" "$@"; }
expect "verify-bisect: a header the assembler includes (.include in asm(), in no .cmd file) is built" 1 "" inputs_on untouched_inputs s390 1
T_CHANGED=(arch/s390/include/asm/other.h)
expect "verify-bisect: a header nothing reads, nor includes for the assembler, is unchanged inputs" 0 "reads none" inputs_on untouched_inputs s390 1
unset -f vgit

# verify-bisect --tip-only: an optional architecture is reported as not
# checked, with the command that checks it, at the steps between the base
# and the last one, and is built at the last step.
# shellcheck disable=SC2034,SC2317 # the variables and stubs serve the eval'd function
tip_only_on() (
	RES=$A/tres commits=(c0 c1 c2 c3) n=3 tip_only=(riscv) KSA_OUT=$A/tout
	put_result() { echo "RESULT $3:"; cat; }
	untouched_inputs() { echo "unchanged inputs: stub"; }
	cp() { :; }
	eval "$(sed -n '/^build_step() {/,/^}/p' "$KSA_ROOT/scripts/checks/build.sh")"
	build_step "$1" riscv
)
expect "verify-bisect --tip-only: a step between is not checked, and says how to check it" 0 \
	"RESULT skip:.*|verify-bisect.sh --arch riscv builds it at every step" tip_only_on 2
run tip_only_on 2
check "verify-bisect --tip-only: the skip names the command" grep -q 'scripts/verify-bisect.sh --arch riscv' "$T_OUT"
expect "verify-bisect --tip-only: the last step is built (here: its inputs are checked)" 0 "RESULT same:" tip_only_on 3

# --tier ci: riscv, powerpc and mips are not built, unless --arch or
# --tip-only names them; their results say so at every step, with the
# command that builds them.
# shellcheck disable=SC2034,SC2317 # the variables and stubs serve the eval'd functions
tier_on() (
	tier=ci arch_given=$1 RES=$A/tierres commits=(c0 c1 c2) first=1 last=2 tier_out=()
	read -r -a tip_only <<<"$2"
	log() { :; }
	eval "$(sed -n '/^tier_arches() {/,/^}/p; /^mark_not_built() {/,/^}/p; /^mark_tier_out() {/,/^}/p' "$KSA_ROOT/scripts/verify-bisect.sh")"
	tier_arches
	echo "out: ${tier_out[*]}"
	mark_tier_out
)
expect "verify-bisect --tier ci: riscv, powerpc and mips are not built" 0 "^out: riscv powerpc mips$" tier_on "" ""
check "verify-bisect --tier ci: at the base and every step they are not checked, with the command" sh -c \
	"for c in c0 c1 c2; do for a in riscv powerpc mips; do sed -n 1p '$A/tierres/'\$c/build-\$a | grep -qx skip && grep -q 'scripts/verify-bisect.sh --arch riscv,powerpc,mips --only build' '$A/tierres/'\$c/build-\$a || exit 1; done; done"
expect "verify-bisect --tier ci --tip-only riscv: riscv is built at the tip, the others are not built" 0 "^out: powerpc mips$" tier_on "" riscv
expect "verify-bisect --tier ci --arch: the architectures named are built" 0 "^out: $" tier_on 1 ""

# --tier ci: the kernel's Coccinelle rules are not run between the base and
# the tip, and the skip names the command that runs them at every step.
# shellcheck disable=SC2034,SC2317 # the variables and stubs serve the eval'd function
kcocci_on() (
	commits=(c0 c1 c2) n=2 tier=ci
	put_result() { echo "RESULT $3:"; cat; }
	have_result() { false; }
	eval "$(sed -n '/^check_kcocci() {/,/^}/p' "$KSA_ROOT/scripts/checks/cocci-kernel.sh")"
	check_kcocci "$1"
)
run kcocci_on 1
check "verify-bisect --tier ci: the kernel's Coccinelle rules between base and tip are not checked, with the command" \
	sh -c "grep -q '^RESULT skip:' '$T_OUT' && grep -q 'scripts/verify-bisect.sh --only coccinelle' '$T_OUT'"

# The sparse wrapper: with KSA_SPARSE_ONLY it runs sparse only on the listed
# files and notes the others for the tip's pass; it notes sparse's time.
# shellcheck disable=SC2034,SC2317 # the variables serve the eval'd function
wrapper_on() (
	KSA_OUT=$A/wout
	eval "$(sed -n '/^sparse_wrapper() {/,/^}/p' "$KSA_ROOT/scripts/checks/build.sh")"
	sparse_wrapper
)
mkdir -p "$A/wsrc"
: >"$A/wsrc/a.c"
: >"$A/wsrc/b.c"
printf '#!/bin/sh\necho "sparse on $*" >>"%s/wsparse.log"\n' "$A" >"$A/wsparse"
chmod +x "$A/wsparse"
run wrapper_on
WR=$(cat "$T_OUT")
realpath "$A/wsrc/a.c" >"$A/wonly"
: >"$A/wlog"
: >"$A/wdefer"
for f in a b; do
	KSA_SPARSE=$A/wsparse KSA_SPARSE_LOG=$A/wlog KSA_SPARSE_ONLY=$A/wonly KSA_SPARSE_DEFER=$A/wdefer "$WR" -D__CHECKER__ "$A/wsrc/$f.c"
done
check "sparse wrapper: a listed file is checked and noted with its time, another is left to the tip" sh -c \
	"grep -q 'sparse on .*a.c' '$A/wsparse.log' && ! grep -q 'b.c' '$A/wsparse.log' && grep -Eq 'a.c	[0-9]+$' '$A/wlog' && grep -q 'b.c$' '$A/wdefer' && ! grep -q 'a.c' '$A/wdefer'"
KSA_SPARSE=$A/wsparse KSA_SPARSE_LOG=$A/wlog KSA_SPARSE_ONLY='' KSA_SPARSE_DEFER=$A/wdefer "$WR" "$A/wsrc/b.c"
check "sparse wrapper: without a list every file is checked" grep -q 'sparse on .*b.c' "$A/wsparse.log"

# scripts/same-tokens.py on a synthetic build: which targets read a header
# (or may find an added one first), whether their tokens change, and the
# refresh that makes Kbuild take a kept object as built.
ST=$KSA_ROOT/scripts/same-tokens.py
mkdir -p "$A/st/src/include" "$A/st/out/dir" "$A/st/out/scripts/basic" "$A/st/out/gen"
STS=$(realpath "$A/st/src") STO=$(realpath "$A/st/out")
printf '#define ONE 1\n#define TWO 2\nstatic inline int one(void) { return ONE; }\n' >"$STS/include/a.h"
printf 'int b(void);\n' >"$STS/include/b.h"
printf '#include <a.h>\nint x(void) { return one() + TWO; }\n' >"$STS/x.c"
printf '#include <b.h>\nint y(void) { return b(); }\n' >"$STS/y.c"
for t in x y; do
	# shellcheck disable=SC2016 # literal $(deps_...) of a .cmd file
	printf 'savedcmd_dir/%s.o := ccache gcc -Wp,-MMD,dir/.%s.o.d -I%s/include -DKBUILD_BASENAME='"'"'"%s"'"'"' -c -o dir/%s.o %s/%s.c\n\nsource_dir/%s.o := %s/%s.c\n\ndeps_dir/%s.o := \\\n  %s/include/%s.h \\\n\ndir/%s.o: $(deps_dir/%s.o)\n\n$(deps_dir/%s.o):\n' \
		"$t" "$t" "$STS" "$t" "$t" "$STS" "$t" "$t" "$STS" "$t" "$t" "$STS" "$([ $t = x ] && echo a || echo b)" "$t" "$t" "$t" >"$STO/dir/.$t.o.cmd"
	touch -d '2020-01-01' "$STO/dir/$t.o"
done
# A header made by a script, not by the compiler, that reads b.h.
printf 'savedcmd_gen/b-copy.h := sh copy.sh\n\nsource_gen/b-copy.h := %s/include/b.h\n\ndeps_gen/b-copy.h := \\\n\n' "$STS" >"$STO/gen/.b-copy.h.cmd"
# fixdep's stand-in: the savedcmd line and the dependency file, as Kbuild's.
# shellcheck disable=SC2016 # the stand-in's own "$2" and "$3"
printf '#!/bin/sh\nprintf "savedcmd_%%s := %%s\\n\\nsource_%%s := from-fixdep\\n\\n" "$2" "$3" "$2"\n' >"$STO/scripts/basic/fixdep"
chmod +x "$STO/scripts/basic/fixdep"
expect "same-tokens: a changed header names the targets that read it, with their sources" 0 "^dir/x.o	x.c$" \
	"$ST" affected "$STO" "$STS" --changed include/a.h
expect "same-tokens: an added header with the base name of one a target reads names that target" 0 "^dir/x.o	x.c$" \
	"$ST" affected "$STO" "$STS" --changed include/other.h --added arch/include/a.h
expect "same-tokens: a target that reads the header but is not compiled makes the step not qualify (exit 3)" 3 "not made by a compiler command: gen/b-copy.h" \
	"$ST" affected "$STO" "$STS" --changed include/b.h
echo dir/x.o >"$A/st/t"
st_hash() { rm -f "$A/st/h.$1"; "$ST" hash "$STO" "$STS" "$A/st/t" "$A/st/h.$1" --depdir "$A/st/deps" && cut -f2 "$A/st/h.$1"; }
run st_hash 0
h0=$(cat "$T_OUT")
check "same-tokens: hash gives one SHA-256 per target" grep -Eqx '[0-9a-f]{64}' "$T_OUT"
printf '#define TWO 2\n/* moved */\n\n#define ONE 1\nstatic inline int one(void)  { return ONE; }\n' >"$STS/include/a.h"
run st_hash 1
check "same-tokens: moved macros, a comment, blank lines and spacing keep the tokens" test "$(cat "$T_OUT")" = "$h0"
printf '#define TWO 2\n#define ONE 2\nstatic inline int one(void) { return ONE; }\n' >"$STS/include/a.h"
run st_hash 2
check "same-tokens: a changed macro value changes the tokens" test -n "$(cat "$T_OUT")" -a "$(cat "$T_OUT")" != "$h0"
printf '#define TWO 2\n#define ONE 1\nstatic inline int one(void) { return ONE }\n' >"$STS/include/a.h"
run st_hash 3
check "same-tokens: a dropped token changes the tokens" test "$(cat "$T_OUT")" != "$h0"
printf '#ifndef A_H\n#define A_H\n#define TWO 2\n#define ONE 1\nstatic inline int one(void) { return ONE; }\n#endif\n' >"$STS/include/a.h"
run st_hash 6
check "same-tokens: an include guard (an empty macro, as a new header has) keeps the tokens" test "$(cat "$T_OUT")" = "$h0"
printf '#define TWO 2\n#define ONE 1\n#define UNUSED 3\nstatic inline int one(void) { return ONE; }\n' >"$STS/include/a.h"
run st_hash 7
check "same-tokens: a new macro that no code expands or tests keeps the tokens (-dU)" test "$(cat "$T_OUT")" = "$h0"
printf '#define TWO 2\n#define ONE 1\n#define UNUSED 3\n#ifdef UNUSED\n#endif\nstatic inline int one(void) { return ONE; }\n' >"$STS/include/a.h"
run st_hash 7b
check "same-tokens: a new macro that the code tests changes the hash" test "$(cat "$T_OUT")" != "$h0"
printf '#define TWO 2\n#define ONE 1\n#define UNO 1\nstatic inline int one(void) { return UNO; }\n' >"$STS/include/a.h"
run st_hash 7c
check "same-tokens: the same tokens from another macro change the hash (gcc warns apart on code from a macro)" test "$(cat "$T_OUT")" != "$h0"
sed -i 's/ -c -o dir\/x.o / -Wunused-macros -c -o dir\/x.o /' "$STO/dir/.x.o.cmd"
printf '#define ONE 1\n#define TWO 2\nstatic inline int one(void) { return ONE; }\n' >"$STS/include/a.h"
run st_hash 7d
hw=$(cat "$T_OUT")
printf '#define ONE 1\n#define TWO 2\n#define UNUSED 3\nstatic inline int one(void) { return ONE; }\n' >"$STS/include/a.h"
run st_hash 7e
check "same-tokens: with -Wunused-macros (W=2) a new unused macro changes the hash (-dD)" test -n "$hw" -a "$(cat "$T_OUT")" != "$hw"
sed -i 's/ -Wunused-macros -c / -c /' "$STO/dir/.x.o.cmd"
printf '#define TWO 2\n#define ONE 1\nstatic inline int one(void) {\n  return ONE; }\n' >"$STS/include/a.h"
run st_hash 8
check "same-tokens: changed indentation changes the hash (-Wmisleading-indentation reads it)" test "$(cat "$T_OUT")" != "$h0"
printf '#define TWO 2\n#define ONE 1\nstatic inline int one(void) { return ONE; }\nasm(".include \\"ins.h\\"");\n' >"$STS/include/a.h"
printf '.macro m\n.endm\n' >"$STS/include/ins.h"
sed -i 's| -I'"$STS"'/include | -I'"$STS"'/include -Wa,-I'"$STS"'/include |' "$STO/dir/.x.o.cmd"
run st_hash 9
ha=$(cat "$T_OUT")
printf '.macro m\nnop\n.endm\n' >"$STS/include/ins.h"
run st_hash 10
check "same-tokens: a file the assembler includes (.include in asm()) is found on its -I path and is part of the hash" \
	test "$(printf '%s\n%s\n' "$ha" "$(cat "$T_OUT")" | grep -Ecx '[0-9a-f]{64}')" = 2 -a "$(cat "$T_OUT")" != "$ha"
sed -i 's| -Wa,-I'"$STS"'/include | |' "$STO/dir/.x.o.cmd"
run st_hash 11
check "same-tokens: an .include the assembler path does not find makes the target unkeepable" grep -q '^unkeepable:' "$T_OUT"
printf '#error broken\n' >"$STS/include/a.h"
expect "same-tokens: gcc -E failing is exit 1, named" 1 "gcc -E failed for dir/x.o" \
	"$ST" hash "$STO" "$STS" "$A/st/t" "$A/st/h.4"
printf '#define ONE 1\n#define TWO 2\nstatic inline int one(void) { return ONE; }\n' >"$STS/include/a.h"
run st_hash 5
cp "$STO/dir/.x.o.cmd" "$A/st/x.cmd.before"
expect "same-tokens: refresh rewrites the .cmd with fixdep and the same command" 0 "" "$ST" refresh "$STO" "$A/st/t" "$A/st/deps"
cp "$STO/dir/.x.o.cmd" "$T_OUT"
check "same-tokens: the refreshed .cmd keeps the command and has fixdep's dependencies" \
	test "$(head -n 1 "$STO/dir/.x.o.cmd")" = "$(head -n 1 "$A/st/x.cmd.before")" -a -n "$(grep from-fixdep "$STO/dir/.x.o.cmd")"
check "same-tokens: the kept object is newer than its sources after refresh" test "$STO/dir/x.o" -nt "$STS/include/a.h"
check "same-tokens: a target not refreshed stays as it was" test ! "$STO/dir/y.o" -nt "$STS/include/b.h"
# prune: a hash stays only while nothing its target reads is newer than
# the mark (the start of the build that followed the hashes).
touch -d '2021-01-01' "$STS/include/b.h" "$STS/y.c"
touch -d '2022-01-01' "$A/st/mark"
printf 'dir/y.o\tH1\ndir/nosuch.o\tH2\n' >"$A/st/h.p"
expect "same-tokens: prune keeps a target whose inputs are older than the mark and drops one without a .cmd" 0 "kept 1 of 2 hashes" \
	"$ST" prune "$STO" "$A/st/h.p" "$A/st/mark"
check "same-tokens: the pruned file holds the kept target's line" test "$(cat "$A/st/h.p")" = "$(printf 'dir/y.o\tH1')"
touch "$STS/include/b.h"
expect "same-tokens: prune drops a target that reads a file written after the mark (a generated header)" 0 "kept 0 of 1 hashes" \
	"$ST" prune "$STO" "$A/st/h.p" "$A/st/mark"
check "same-tokens: the pruned file is then empty" test ! -s "$A/st/h.p"
expect "same-tokens.py --help" 0 "^usage: same-tokens.py" "$ST" --help
expect "same-tokens.py rejects an unknown command with exit 2" 2 "invalid choice" "$ST" bogus

# scripts/compare-disasm.py on two builds of one C file (x86_64's objdump).
# "same": another __FILE__-like string (f), a longer table before the one f
# reads (the relocation addend of t2 moves) and a grown g (h, before the
# 64-byte aligned k, gets other padding) keep f, h and k the same; "new": a
# changed constant, a removed and an added function are each named.
CD=$A/cd
mkdir -p "$CD/old/dir" "$CD/new/dir" "$CD/same/dir"
cat >"$CD/a.c" <<'C'
extern int puts(const char *);
static const int t1[] = { 1, 2, 3 };
static const int t2[] = { 4, 5, 6, 7 };
int f(int i) { puts("a.c"); return t2[i]; }
int g(int x) { if (x > 3) return x * 7; return x - 2; }
int h(int x) { return x * 5 + 3; }
__attribute__((aligned(64))) int k(int i) { return t1[i]; }
C
sed -e 's|"a.c"|"virt/kvm/arm64/a.c"|' -e 's|{ 1, 2, 3 }|{ 1, 2, 3, 8, 9, 10, 11, 12 }|' \
	-e 's|return x - 2;|return x * x * x / (x + 7) - 2;|' "$CD/a.c" >"$CD/same.c"
sed -e 's|x \* 7|x * 9|' -e 's|^int h(int x).*$|int m(void) { return 6; }|' "$CD/a.c" >"$CD/new.c"
gcc -O2 -c "$CD/a.c" -o "$CD/old/dir/a.o" && gcc -O2 -c "$CD/same.c" -o "$CD/same/dir/a.o" && gcc -O2 -c "$CD/new.c" -o "$CD/new/dir/a.o"
CDS=$KSA_ROOT/scripts/compare-disasm.py
run "$CDS" --arch x86_64 "$CD/old" "$CD/same" dir
check "compare-disasm: another string, a moved table and other padding keep f, h and k the same; g differs" \
	sh -c "[ $RC = 1 ] && grep -q '^differs dir/a.o:.text:g ' '$T_OUT' && grep -q '3 the same, 1 differ, 0 gone, 0 new' '$T_OUT'"
run "$CDS" --arch x86_64 --diff "$CD/old" "$CD/new"
check "compare-disasm: a changed constant, a removed and an added function are named, with a diff" \
	sh -c "[ $RC = 1 ] && grep -q '^differs dir/a.o:.text:g ' '$T_OUT' && grep -q '^gone dir/a.o:.text:h$' '$T_OUT' &&
	 grep -q '^new dir/a.o:.text:m$' '$T_OUT' && grep -q '^-lea' '$T_OUT'"
# arm64 (section anchors): the offset of a static object from the .rodata
# base is an add immediate of its own, layout like an addend; code that
# does something else with the base still differs.
mkdir -p "$CD/a64old/d" "$CD/a64same/d" "$CD/a64new/d"
cat >"$CD/r.c" <<'C'
struct ops { long a, b; };
static const long pad[4] = { 1, 2, 3, 4 };
static const struct ops o1 = { 5, 6 };
void set(const void **p, const void **q) { *p = pad; *q = &o1; }
C
sed 's/pad\[4\] = { 1, 2, 3, 4 }/pad[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }/' "$CD/r.c" >"$CD/r-same.c"
sed 's/\*p = pad; \*q = &o1;/*q = \&o1; *p = 0;/' "$CD/r.c" >"$CD/r-new.c"
aarch64-linux-gnu-gcc -O2 -c "$CD/r.c" -o "$CD/a64old/d/r.o" && aarch64-linux-gnu-gcc -O2 -c "$CD/r-same.c" -o "$CD/a64same/d/r.o" &&
	aarch64-linux-gnu-gcc -O2 -c "$CD/r-new.c" -o "$CD/a64new/d/r.o"
expect "compare-disasm: arm64, an object moved within .rodata (the base's add immediate) is the same code" 0 "1 the same, 0 differ" \
	"$CDS" --arch arm64 "$CD/a64old" "$CD/a64same"
expect "compare-disasm: arm64, other code with the same .rodata base differs" 1 "^differs d/r.o:.text:set " \
	"$CDS" --arch arm64 "$CD/a64old" "$CD/a64new"
# ... and what the normalisation must not hide: a field read through the
# base (its load offset), and an offset used after a call (which may
# change the register) are differences.
cat >"$CD/r2.c" <<'C'
struct ops { long a, b, c, d; };
static const struct ops o1 = { 5, 6, 7, 8 };
extern const long *foo(const void *);
long f(void) { return foo(&o1)[2]; }
long h(void) { return *(volatile long *)&o1.c; }
C
sed 's/foo(&o1)\[2\]/foo(\&o1)[3]/; s/&o1\.c/\&o1.d/' "$CD/r2.c" >"$CD/r2-new.c"
mkdir -p "$CD/a64b/d" "$CD/a64c/d"
aarch64-linux-gnu-gcc -O2 -c "$CD/r2.c" -o "$CD/a64b/d/r.o" && aarch64-linux-gnu-gcc -O2 -c "$CD/r2-new.c" -o "$CD/a64c/d/r.o"
run "$CDS" --arch arm64 "$CD/a64b" "$CD/a64c"
check "compare-disasm: arm64, another field read through the .rodata base and another offset after a call differ" \
	sh -c "[ $RC = 1 ] && grep -q '^differs d/r.o:.text:f ' '$T_OUT' && grep -q '^differs d/r.o:.text:h ' '$T_OUT'"
# References into data are by object: a longer object before it is layout,
# another field of it (the add from an arm64 anchor, an x86 addend) is not.
cat >"$CD/r3.c" <<'C'
struct ops { long a, b, c, d; };
extern void foo(const void *);
static const long pad0[2] = { 9, 9 };
static const struct ops o1 = { 5, 6, 7, 8 };
void g(void) { foo(&o1.c); }
void q(void) { foo(pad0); }
C
sed 's/pad0\[2\] = { 9, 9 }/pad0[6] = { 9, 9, 9, 9, 9, 9 }/' "$CD/r3.c" >"$CD/r3-same.c"
sed 's/&o1\.c/\&o1.d/' "$CD/r3.c" >"$CD/r3-new.c"
for v in r3 r3-same r3-new; do
	mkdir -p "$CD/$v-a64/d" "$CD/$v-x86/d"
	aarch64-linux-gnu-gcc -O2 -c "$CD/$v.c" -o "$CD/$v-a64/d/r.o" && gcc -O2 -c "$CD/$v.c" -o "$CD/$v-x86/d/r.o"
done
run sh -c "'$CDS' --arch arm64 '$CD/r3-a64' '$CD/r3-same-a64' && '$CDS' --arch x86_64 '$CD/r3-x86' '$CD/r3-same-x86'"
check "compare-disasm: an object that moves in .rodata is the same code (arm64 anchors, x86 addends)" test "$RC" = 0
run "$CDS" --arch arm64 "$CD/r3-a64" "$CD/r3-new-a64"
check "compare-disasm: arm64, the address of another field of the object differs" \
	sh -c "[ $RC = 1 ] && grep -q '^differs d/r.o:.text:g ' '$T_OUT'"
run "$CDS" --arch x86_64 "$CD/r3-x86" "$CD/r3-new-x86"
check "compare-disasm: x86_64, the address of another field of the object differs" \
	sh -c "[ $RC = 1 ] && grep -q '^differs d/r.o:.text:g ' '$T_OUT'"
# A function moved to another object (patch 10's arch/arm64/kvm/ to
# virt/kvm/arm64/) is compared with itself there; two of one name are not
# paired.
mkdir -p "$CD/mv-old/arch" "$CD/mv-old/virt" "$CD/mv-new/arch" "$CD/mv-new/virt" "$CD/mv-chg/arch" "$CD/mv-chg/virt"
printf 'int stay(int x) { return x + 1; }\nint go(int x) { return x * 3 + 1; }\nstatic int st(int x) { return x * 11; }\nint use1(int x) { return st(x) + 1; }\n' >"$CD/mv-a.c"
printf 'int other(int x) { return x - 1; }\n' >"$CD/mv-b.c"
printf 'int stay(int x) { return x + 1; }\nint use1(int x) { return x * 11 + 1; }\n' >"$CD/mv-a2.c"
printf 'int other(int x) { return x - 1; }\nint go(int x) { return x * 3 + 1; }\n' >"$CD/mv-b2.c"
printf 'int other(int x) { return x - 1; }\nint go(int x) { return x * 5 + 1; }\n' >"$CD/mv-b3.c"
gcc -O2 -c "$CD/mv-a.c" -o "$CD/mv-old/arch/a.o" && gcc -O2 -c "$CD/mv-b.c" -o "$CD/mv-old/virt/b.o" &&
	gcc -O2 -c "$CD/mv-a2.c" -o "$CD/mv-new/arch/a.o" && gcc -O2 -c "$CD/mv-b2.c" -o "$CD/mv-new/virt/b.o" &&
	cp "$CD/mv-new/arch/a.o" "$CD/mv-chg/arch/a.o" && gcc -O2 -c "$CD/mv-b3.c" -o "$CD/mv-chg/virt/b.o"
run "$CDS" --arch x86_64 "$CD/mv-old" "$CD/mv-new" arch virt
check "compare-disasm: a function moved to another object with the same code is 'moved', not a difference (exit 0)" \
	sh -c "[ $RC = 0 ] && grep -q '^moved virt/b.o:.text:go from arch/a.o:.text:go, the same code' '$T_OUT' && grep -q ' 0 differ, 0 gone, 0 new; 1 of the same moved' '$T_OUT'"
run "$CDS" --arch x86_64 "$CD/mv-old" "$CD/mv-chg" arch virt
check "compare-disasm: a function moved to another object and changed differs, named by both objects" \
	sh -c "[ $RC = 1 ] && grep -q '^differs virt/b.o:.text:go (moved from arch/a.o:.text:go;' '$T_OUT'"
printf 'static int st(int x) { return x * 11; }\nint use2(int x) { return st(x) + 2; }\nint other(int x) { return x - 1; }\n' >"$CD/mv-b4.c"
printf 'static int st(int x) { return x * 11; }\nint use3(int x) { return st(x) + 3; }\n' >"$CD/mv-c4.c"
mkdir -p "$CD/mv-two/arch" "$CD/mv-two/virt"
cp "$CD/mv-old/arch/a.o" "$CD/mv-two/arch/a.o"
gcc -O2 -fno-inline -c "$CD/mv-a.c" -o "$CD/mv-old/arch/a.o" && gcc -O2 -fno-inline -c "$CD/mv-a2.c" -o "$CD/mv-two/arch/a.o" &&
	gcc -O2 -fno-inline -c "$CD/mv-b4.c" -o "$CD/mv-two/virt/b.o" && gcc -O2 -fno-inline -c "$CD/mv-c4.c" -o "$CD/mv-two/virt/c.o"
run "$CDS" --arch x86_64 "$CD/mv-old" "$CD/mv-two" arch virt
check "compare-disasm: two functions of one name that came into two objects are not paired with the one that left (gone and new)" \
	sh -c "[ $RC = 1 ] && grep -q '^gone arch/a.o:.text:st$' '$T_OUT' && grep -q '^new virt/b.o:.text:st$' '$T_OUT' && grep -q '^new virt/c.o:.text:st$' '$T_OUT'"
# ... and a moved function whose static callee of the same name is another
# one in its new object differs, although its instructions are the same.
mkdir -p "$CD/mh-old/a" "$CD/mh-old/b" "$CD/mh-new/a" "$CD/mh-new/b"
printf 'static int helper(int x) { return x * 7; }\nint keep(int x) { return helper(x) + 1; }\nint mv(int x) { return helper(x) + 2; }\n' >"$CD/mh-a.c"
printf 'static int helper(int x) { return x * 9; }\nint other(int x) { return helper(x) + 3; }\n' >"$CD/mh-b.c"
printf 'static int helper(int x) { return x * 7; }\nint keep(int x) { return helper(x) + 1; }\n' >"$CD/mh-a2.c"
printf 'static int helper(int x) { return x * 9; }\nint other(int x) { return helper(x) + 3; }\nint mv(int x) { return helper(x) + 2; }\n' >"$CD/mh-b2.c"
for v in a b a2 b2; do gcc -O2 -fno-inline -c "$CD/mh-$v.c" -o "$CD/mh-$v.o"; done
cp "$CD/mh-a.o" "$CD/mh-old/a/x.o" && cp "$CD/mh-b.o" "$CD/mh-old/b/y.o" && cp "$CD/mh-a2.o" "$CD/mh-new/a/x.o" && cp "$CD/mh-b2.o" "$CD/mh-new/b/y.o"
expect "compare-disasm: a moved function that calls another static function of the same name there differs" 1 \
	"^differs b/y.o:.text:mv .moved from a/x.o:.text:mv; the same instructions, but its callee helper" "$CDS" --arch x86_64 "$CD/mh-old" "$CD/mh-new"
expect "compare-disasm: the same build is the same code (exit 0)" 0 "4 the same, 0 differ" "$CDS" --arch x86_64 "$CD/old" "$CD/old" dir/a.o
expect "compare-disasm: a path without objects is a usage error (exit 2)" 2 "no object" "$CDS" --arch x86_64 "$CD/old" "$CD/new" nowhere
expect "compare-disasm: an unknown architecture is a usage error (exit 2)" 2 "invalid choice" "$CDS" --arch vax "$CD/old" "$CD/new"

# scripts/forecast.sh on a synthetic build of 300 objects: 250 read a.h, all
# read b.h.  Two header moves in a row (=moves): the first preprocesses its
# 250 targets before and after, and the next step's other 50 ahead; the
# second only its 300 after.  Walk 20 s, 1 s per object, --cpp-ratio .5.
FC=$A/fc
mkdir -p "$FC/tree/include" "$FC/out/arm64-kvm/dir"
FCT=$(realpath "$FC/tree")
python3 - "$FCT" "$FC/out/arm64-kvm/dir" <<'PY'
import sys
tree, d = sys.argv[1], sys.argv[2]
for i in range(300):
    deps = ["%s/dir/o%d.c" % (tree, i), "%s/include/b.h" % tree] + (["%s/include/a.h" % tree] if i < 250 else [])
    open("%s/.o%d.o.cmd" % (d, i), "w").write("savedcmd_dir/o%d.o := gcc -c\n\nsource_dir/o%d.o := %s/dir/o%d.c\n\ndeps_dir/o%d.o := \\\n%s\n\n" % (i, i, tree, i, i, "".join("  %s \\\n" % x for x in deps)))
PY
cat >"$FC/report.json" <<'JSON'
{"steps": [{"step": 0, "checks": {"build-arm64": {"status": "pass", "seconds": 300, "sparse_cpu_seconds": 0}}},
 {"step": 1, "checks": {"build-arm64": {"status": "pass", "seconds": 20}, "checkpatch": {"status": "pass", "seconds": 1},
  "cocci-kernel": {"status": "pass", "seconds": 10, "evidence": "rules (1 C files read)"}}}]}
JSON
printf '1 include/a.h =moves\n2 include/b.h =moves\n3 dir/o1.c\n' >"$FC/plan"
run env KSA_OUT="$FC/out" KSA_VERIFY_TREE="$FCT" "$KSA_ROOT/scripts/forecast.sh" --tier ci --plan "$FC/plan" --report "$FC/report.json" --cpp-ratio .5
check "forecast: a header move preprocesses its targets before and after, and the next move's other targets ahead (20 + 550 x 0.5 s)" \
	grep -q '^| 1 | 250/295 | 1 |$' "$T_OUT"
check "forecast: the header move after one preprocesses its targets only after the step (20 + 300 x 0.5 s)" \
	grep -q '^| 2 | 300/170 | 1 |$' "$T_OUT"
check "forecast: within the limit is exit 0" test "$RC" = 0
run env KSA_OUT="$FC/out" KSA_VERIFY_TREE="$FCT" "$KSA_ROOT/scripts/forecast.sh" --tier ci --plan "$FC/plan" --report "$FC/report.json" --cpp-ratio .5 --fixed 9000
check "forecast: over the limit is exit 1, and says so" sh -c "[ $RC = 1 ] && grep -q 'limit 75 min: OVER' '$T_OUT'"
expect "forecast: no report is exit 3" 3 "run scripts/verify-bisect.sh first" "$KSA_ROOT/scripts/forecast.sh" --report "$FC/none.json"

# --- checkpatch.ignore: per-patch entries ------------------------------------
# An entry with a patch's slug applies to that patch only; a global entry to
# every patch.  The break check: the entry for patch 6 must not reach patch 10.
cat >"$A/cp.ignore" <<'IGN'
# comment
FILE_PATH_CHANGES arm64-Provide-arm64-API-for-non-native-architectures  # reason
GLOBAL_TYPE   # for every patch

IGN
run bash -c 'source "$1/scripts/checks/checkpatch.sh"; checkpatch_ignores "$2" "$3"' _ "$KSA_ROOT" "$A/cp.ignore" \
	patches/0006-arm64-Provide-arm64-API-for-non-native-architectures.patch
check "checkpatch.ignore: a patch's own entry and the global ones apply to it" \
	test "$(cat "$T_OUT")" = FILE_PATH_CHANGES,GLOBAL_TYPE
run bash -c 'source "$1/scripts/checks/checkpatch.sh"; checkpatch_ignores "$2" "$3"' _ "$KSA_ROOT" "$A/cp.ignore" \
	0010-KVM-arm64-Make-some-arm64-KVM-code-shareable.patch
check "checkpatch.ignore: another patch's entry does not (only the global one)" test "$(cat "$T_OUT")" = GLOBAL_TYPE

# --- command line -----------------------------------------------------------
expect "lib.sh --help says it is a library" 0 "^Usage: source scripts/lib.sh" bash "$KSA_ROOT/scripts/lib.sh" --help
for s in "$KSA_ROOT"/scripts/*.sh "$KSA_ROOT"/tests/*.sh; do
	case $s in */lib.sh | */harness.sh) continue ;; esac
	expect "$(basename "$s") --help" 0 "^Usage: " "$s" --help
	expect "$(basename "$s") rejects an unknown option with exit 2" 2 "error: unknown argument" "$s" --bogus-option
done
expect "runtime.sh rejects an unknown suite with exit 2, naming the suites" 2 "clients, not 'bogus'" \
	"$KSA_ROOT/tests/runtime.sh" --suite bogus
expect "runtime.sh --suite clients without the clients exits 3, naming the file" 3 "kvmtool-b48735e5.tar.xz is missing" \
	env KSA_CLIENTS="$A/no-clients" "$KSA_ROOT/tests/runtime.sh" --suite clients
expect "runtime.sh --suite needs a value" 2 "--suite needs a value" "$KSA_ROOT/tests/runtime.sh" --suite
mkdir -p "$A/leak-tmp"
for s in tooling series runtime verify-selftest; do
	TMPDIR=$A/leak-tmp "$KSA_ROOT/tests/$s.sh" --help >/dev/null 2>&1
	TMPDIR=$A/leak-tmp "$KSA_ROOT/tests/$s.sh" --bogus-option >/dev/null 2>&1
done
TMPDIR=$A/leak-tmp "$KSA_ROOT/tests/runtime.sh" --suite bogus >/dev/null 2>&1
run ls -A "$A/leak-tmp"
check "a test script that ends early (--help, bad usage) leaves nothing in TMPDIR" test ! -s "$T_OUT"

t_summary
