# shellcheck shell=bash
# verify-bisect check: sparse-ARCH, at the tip, with --tier ci only.
# Inputs: the files that the steps' builds recompiled without sparse.
# Result: pass, fail (a warning that the base and no step had), same
# (nothing left to check) or skip (a step not built in this tier).
# Sourced by scripts/verify-bisect.sh, whose state (RES, commits, VT, the
# result store and the helpers) it uses: see the runner's "checks" comment.

# check_sparse_tip ARCH STEP (--tier ci, STEP the tip): sparse, with C=2
# (every file, compiled or not), on the files that steps recompiled without
# sparse; a warning that the base and no step had fails.
check_sparse_tip() {
	local a=$1 step=$2 out=$KSA_OUT/$1-kvm log i f c t st missing='' list nlist nsparse new rc unseen=
	log=$RES/${commits[$step]}/sparse-$a.log
	# Every step must have been built in this tier (or be unchanged), so
	# that what it left to this pass is known.
	for i in $(seq 1 "$n"); do
		f=$RES/${commits[$i]}/build-$a
		st=$(head -n 1 "$f" 2>/dev/null || true)
		[ "$st" = same ] || [ -f "$f.sparse-deferred" ] || missing="$missing $i"
	done
	if [ -n "$missing" ]; then
		printf 'not checked: the %s builds of steps%s have not run in this tier, so what they left to this pass is not known; scripts/verify-bisect.sh --tier ci without --patches runs it\n' "$a" "$missing" |
			put_result "$step" "sparse-$a" skip
		return
	fi
	list=$out/.ksa-sparse-only
	for i in $(seq 1 "$n"); do
		f=$RES/${commits[$i]}/build-$a.sparse-deferred
		if [ -f "$f" ]; then cat "$f"; fi
		if [ -f "$f.tokens" ]; then cat "$f.tokens"; fi
	done | sort -u | while read -r f; do
		# Generated C files are in the build directory, named absolutely.
		case $f in
		/*) [ ! -f "$f" ] || echo "$f" ;;
		*) [ ! -f "$VT/$f" ] || realpath "$VT/$f" ;;
		esac
	done >"$list"
	nlist=$(grep -c . "$list" || true)
	if [ "$nlist" = 0 ]; then
		echo "unchanged inputs: every file a step recompiled was checked by sparse at that step" | put_result "$step" "sparse-$a" same
		return
	fi
	progress "$step" "$n" "sparse pass at the tip on $a: $nlist files that steps recompiled without sparse"
	checkout "${commits[$step]}"
	: >"$out/.ksa-sparse-files"
	rc=0
	KSA_SPARSE=$SPARSE KSA_SPARSE_LOG=$out/.ksa-sparse-files KSA_SPARSE_ONLY=$list KSA_SPARSE_DEFER=/dev/null \
		kbuild "$VT" "$out" "$a" C=2 "CHECK=$(sparse_wrapper)" all >"$log" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		{ echo "make C=2 failed (exit $rc):"; grep -E -i -m 20 'error[: ]' "$log" || tail -n 20 "$log"; } | put_result "$step" "sparse-$a" fail
		return
	fi
	# Kbuild's C=2 forces the checker only through its generic %.o rule:
	# objects made by rules of their own (arm64's hyp/nvhe/*.nvhe.o, the
	# version timestamp of the link) are checked only when compiled.
	# Compile those again, with C=1, so that sparse sees every file.
	seen_files() { (cd "$out" && cut -f1 .ksa-sparse-files | xargs -r realpath -m | sort -u); }
	missing=$(comm -23 <(sort -u "$list") <(seen_files))
	if [ -n "$missing" ]; then
		while IFS= read -r f; do
			# No .cmd names the file (grep exits 1): nothing to remove,
			# and no reason for errexit to end the whole run.
			{ grep -rlsF --include='.*.o.cmd' -e " := $f" -e " := $(realpath -m --relative-to="$out" "$f")" "$out" || true; } |
				while read -r c; do
					t=${c%.cmd}
					rm -f "${t%/*}/${t##*/.}"
				done
		done <<<"$missing"
		printf '%s\n' "$missing" >"$out/.ksa-sparse-again"
		KSA_SPARSE=$SPARSE KSA_SPARSE_LOG=$out/.ksa-sparse-files KSA_SPARSE_ONLY=$out/.ksa-sparse-again KSA_SPARSE_DEFER=/dev/null \
			kbuild "$VT" "$out" "$a" C=1 "CHECK=$(sparse_wrapper)" all >>"$log" 2>&1 || rc=$?
		if [ "$rc" != 0 ]; then
			{ echo "make C=1 of the files C=2 does not check failed (exit $rc):"; grep -E -i -m 20 'error[: ]' "$log" || tail -n 20 "$log"; } | put_result "$step" "sparse-$a" fail
			return
		fi
		# What sparse still did not see, Kbuild compiles outside its
		# checker (s390's link compiles init/version-timestamp.c itself):
		# named in the evidence, never counted as checked.
		missing=$(comm -23 <(sort -u "$list") <(seen_files))
		[ -z "$missing" ] || unseen="; not seen by sparse even when compiled again with C=1 (Kbuild compiles them without its checker): $(sed "s#^$(realpath "$VT")/##" <<<"$missing" | paste -sd' ' -)"
	fi
	nsparse=$(cut -f1 "$out/.ksa-sparse-files" | sort -u | grep -c . || true)
	sparse_secs "$out" >"$RES/${commits[$step]}/sparse-$a.sparse-secs"
	if grep -q 'is not available or not up to date' "$log" || [ "$nsparse" = 0 ]; then
		{ echo "sparse did not run ($nlist files to check, sparse saw $nsparse):"; grep -m 3 'C=2' "$log" || true; } | put_result "$step" "sparse-$a" fail
		return
	fi
	normalize <"$log" >"$RES/${commits[$step]}/sparse-$a.warnings"
	new=$(comm -13 <(known_warnings "build-$a" $((step + 1))) "$RES/${commits[$step]}/sparse-$a.warnings")
	if [ -n "$new" ]; then
		{ echo "new sparse warnings at the tip (in files that a step recompiled without sparse):"; printf '%s\n' "$new"; } |
			put_result "$step" "sparse-$a" fail
	else
		echo "no new warnings: sparse checked $(($(sort -u "$list" | grep -c .) - $(grep -c . <<<"$missing" || true))) of the $nlist files that steps recompiled without it ($nsparse files in all)$unseen" | put_result "$step" "sparse-$a" pass
	fi
}
