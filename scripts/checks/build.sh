# shellcheck shell=bash
# verify-bisect check: build-ARCH (and the same-tokens check it uses).
# Inputs: the files of the step that the build of the step before read
# (Kbuild's .cmd files), the build files, the architecture's non-C files.
# Result: pass, fail (compiler error, new warning, sparse not run), or same
# ("unchanged inputs": nothing the build reads changed, or every target
# that reads the step's headers keeps its tokens); the evidence's first
# line is the summary (the warnings and sparse's count).
# Sourced by scripts/verify-bisect.sh, whose state (RES, commits, VT, the
# result store and the helpers) it uses: see the runner's "checks" comment.

# Full builds of the base and incremental builds of the steps are timed
# apart for the estimate of what is left.
full_total=0 full_done=0 full_secs=0
step_total=0 step_done=0 step_secs=0

count_builds() {
	local a i
	for a in "${build_arches[@]}"; do
		{ have_result 0 "build-$a" && has_snapshots 0 "$a"; } || full_total=$((full_total + 1))
		for i in $(seq "$first" "$last"); do
			[ "$i" = "$n" ] || [[ " ${tip_only[*]} " != *" $a "* ]] || continue
			{ have_result "$i" "build-$a" && has_snapshots "$i" "$a"; } || step_total=$((step_total + 1))
		done
	done
	return 0
}

estimate() {
	local full_avg step_avg s
	[ $((full_done + step_done)) -gt 0 ] || { echo "unknown"; return; }
	full_avg=$((full_done > 0 ? full_secs / full_done : 0))
	# Until a step build is timed, guess a quarter of a full build.
	step_avg=$((step_done > 0 ? step_secs / step_done : full_avg / 4))
	s=$(((full_total - full_done) * full_avg + (step_total - step_done) * step_avg))
	printf '%d:%02d' $((s / 60)) $((s % 60))
}

# The sparse wrapper: Kbuild runs \$(CHECK) once per C file it compiles;
# the wrapper runs sparse and notes the file and sparse's time on it in
# \$KSA_SPARSE_LOG, so that a build can show that sparse ran.  With \$KSA_SPARSE_ONLY (a file of
# absolute paths, --tier ci) it checks only those files and notes the
# others in \$KSA_SPARSE_DEFER instead, for the sparse pass at the tip.
sparse_wrapper() {
	local w=$KSA_OUT/.ksa-sparse
	mkdir -p "$KSA_OUT"
	cat >"$w.tmp" <<'WRAP'
#!/bin/sh
# Written by verify-bisect.sh: note the C file, then run sparse.
eval "last=\${$#}"
case $last in
*.c)
	if [ -n "$KSA_SPARSE_ONLY" ] && ! grep -qxF "$(realpath -m "$last")" "$KSA_SPARSE_ONLY"; then
		realpath -m "$last" >>"$KSA_SPARSE_DEFER"
		exit 0
	fi
	;;
*) exec "$KSA_SPARSE" "$@" ;;
esac
# The file and sparse's time on it (ns), for the cost forecast.
t0=$(date +%s%N)
"$KSA_SPARSE" "$@"
rc=$?
printf '%s\t%s\n' "$last" $(($(date +%s%N) - t0)) >>"$KSA_SPARSE_LOG"
exit $rc
WRAP
	chmod +x "$w.tmp"
	mv "$w.tmp" "$w"
	printf '%s\n' "$w"
}

# sparse_secs OUT: the seconds sparse took over all files of the last
# build in OUT (CPU time of the jobs added up), for the forecast.
sparse_secs() { awk -F'\t' '{ s += $2 } END { printf "%d\n", s / 1e9 }' "$1/.ksa-sparse-files"; }

# c_objects_since OUT STAMP: the kernel objects compiled from C since STAMP
# (host programs, which sparse does not check, left out).
c_objects_since() {
	find "$1" -name '*.o' -newer "$2" -not -path '*/scripts/*' -not -path '*/tools/*' |
		while read -r o; do
			if grep -qs '^source_.*\.c$' "${o%/*}/.${o##*/}.cmd"; then echo "$o"; fi
		done | wc -l
}

# build_inputs OUT STEP ARCH: the source files (relative to the tree) that
# the build of ARCH at STEP read, from Kbuild's .cmd dependency files in OUT,
# kept as $RES/<commit>/build-ARCH.inputs.  Paths are cleaned of "." and
# ".." (virt/kvm/Makefile.kvm has arch/*/kvm/../../../virt/kvm/...).
build_inputs() {
	local out=$1 f=$RES/${commits[$2]}/build-$3.inputs
	find "$out" -name '.*.cmd' -print0 | xargs -0 -r cat |
		awk -v src="$(realpath "$VT")/" -v out="$(realpath "$out")/" '
			function clean(p,   n, i, k, part, outp) {
				n = split(p, part, "/"); k = 0
				for (i = 1; i <= n; i++) {
					if (part[i] == "" || part[i] == ".") continue
					if (part[i] == ".." && k > 0 && outp[k] != "..") { k--; continue }
					outp[++k] = part[i]
				}
				p = ""; for (i = 1; i <= k; i++) p = p (i > 1 ? "/" : "") outp[i]
				return p
			}
			# Absolute paths, or paths relative to the build directory
			# (ccache hands the compiler those: lib.sh kmake).
			{
				for (i = 1; i <= NF; i++) {
					t = $i
					if (substr(t, 1, 3) == "../") t = out t
					else if (substr(t, 1, 1) != "/") continue
					sub(/[):]+$/, "", t)
					t = "/" clean(t)
					if (index(t, src) == 1) print substr(t, length(src) + 1)
				}
			}' |
		sort -u >"$f.tmp"
	mv "$f.tmp" "$f"
}

# built_at STEP ARCH: the step whose build ARCH's build directory holds at
# STEP: STEP, or the last one before it whose build was not "unchanged
# inputs" (the base at the latest).
built_at() {
	local i=$1
	while [ "$i" -gt 0 ] && [ "$(head -n 1 "$(result_file "$i" "build-$2")" 2>/dev/null)" = same ]; do
		i=$((i - 1))
	done
	echo "$i"
}

# untouched_inputs ARCH STEP: true if the build of ARCH at STEP cannot differ
# from its build at the step before: that build passed (or was itself
# unchanged), it read none of the files STEP changes, STEP adds no file
# (a new header can shadow another one on the include path, a new UAPI
# header is installed and compiled), and no changed file belongs to the
# build system itself.  Prints the reason.
untouched_inputs() {
	local a=$1 step=$2 prev files f st
	[ "$step" != 0 ] || return 1
	prev=$RES/${commits[$((step - 1))]}/build-$a
	[ -s "$prev.inputs" ] || return 1
	st=$(head -n 1 "$prev" 2>/dev/null || true)
	[ "$st" = pass ] || [ "$st" = same ] || return 1
	[ -z "$(added_files "$step")" ] || return 1
	files=$(changed_files "$step")
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		case ${f##*/} in Makefile* | Kbuild* | Kconfig* | *.mk | *.lds* | *.sh | *.awk | *.pl | *.py) return 1 ;; esac
		case $f in scripts/* | tools/* | usr/*) return 1 ;; esac
		case $f in "arch/$a/"*) case $f in *.c | *.h) ;; *) return 1 ;; esac ;; esac
		grep -qxF "$f" "$prev.inputs" && return 1
		# A header the assembler reads through .include in an asm()
		# string (s390's instruction macros) is in no .cmd file.
		case $f in *.h)
			if grep -q '\.include' <<<"$(vgit grep -h -F -e "${f##*/}" -- "arch/$a" include 2>/dev/null)"; then return 1; fi
			;;
		esac
	done <<<"$files"
	echo "unchanged inputs: the $a build of the step before reads none of the $(grep -c . <<<"$files") files this step changes"
}

# A step that changes only headers (a header move, typically) need not
# recompile an object whose preprocessed source (gcc -E: the tokens) and
# command are the same as at the step before: scripts/same-tokens.py
# checks that for every Kbuild target that reads the step's headers, and
# keeps the objects whose tokens are the same (their .cmd dependency files
# refreshed with fixdep, as Kbuild writes them), so that Kbuild recompiles
# only the others.  Tried where at least TOKENS_MIN targets read the files
# (below that, compiling costs less than preprocessing twice), not on an
# architecture that runs sparse at every step (sparse sees other tokens,
# __CHECKER__).  A step that changes a UAPI header qualifies only where
# make headers_install installs the same files as at the step before
# (headers_install and the UAPI header test read them without the
# compiler's dependency files, so the tokens alone do not show it).
TOKENS_MIN=${KSA_TOKENS_MIN:-200}
SAME_TOKENS=$KSA_ROOT/scripts/same-tokens.py

# header_only_step STEP: STEP changes (or adds or removes) only headers,
# none under scripts/, tools/ or usr/, and maybe documentation (.rst and
# .txt files under Documentation/, which no build reads; Documentation/Kconfig
# is read, and is not one).
header_only_step() {
	local f any=0
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		case $f in
		scripts/* | tools/* | usr/*) return 1 ;;
		*.h) any=1 ;;
		Documentation/*.rst | Documentation/*.txt) ;;
		*) return 1 ;;
		esac
	done < <(changed_files "$1")
	[ "$any" = 1 ]
}

# step_targets STEP OUT FILE: the Kbuild targets of the build directory OUT
# that read a file STEP changes (or may find one it adds first), into FILE.
step_targets() {
	local -a changed added
	mapfile -t changed < <(changed_files "$1")
	mapfile -t added < <(added_files "$1")
	"$SAME_TOKENS" affected "$2" "$VT" --changed "${changed[@]}" --added "${added[@]}" >"$3"
}

# tokens_before STEP: with the tree at the step before STEP, the tokens of
# every target that reads STEP's headers, for each architecture where
# same_tokens can apply (kept in $RES/<commit>/tokens-ARCH.hashes, so that
# the tokens after a step serve as those before the next).
tokens_before() {
	local step=$1 a out d st prevh t0
	[ "$step" != 0 ] && header_only_step "$step" || return 0
	for a in "${build_arches[@]}"; do
		d=$RES/${commits[$step]}/tokens-$a
		have_result "$step" "build-$a" && continue
		mkdir -p "${d%/*}"
		rm -f "$d.state"
		if [ "$step" != "$n" ] && [[ " ${tip_only[*]} " == *" $a "* ]]; then continue; fi
		if on sparse && [ -z "$tier" ] && [[ $SPARSE_ARCHES == *" $a "* ]]; then
			echo "not tried: sparse runs at every step on $a" >"$d.state"
			continue
		fi
		st=$(head -n 1 "$RES/${commits[$((step - 1))]}/build-$a" 2>/dev/null || true)
		out=$KSA_OUT/$a-kvm
		if [ "$st" != pass ] && [ "$st" != same ] || [ ! -x "$out/scripts/basic/fixdep" ]; then
			echo "not tried: the build of the step before did not pass" >"$d.state"
			continue
		fi
		# Keeping an object is right only if it is the one built at the
		# step before, with this configuration.
		if [ "$(cat "$out/.ksa-state" 2>/dev/null)" != "$(build_state $((step - 1)) "$a")" ]; then
			echo "not tried: $out does not hold the build of the step before (another build used it since)" >"$d.state"
			continue
		fi
		if grep -q '\(^\|/\)uapi/' <<<"$(changed_files "$step")"; then
			if [[ " ${HEADER_ARCHES[*]} " != *" $a "* ]]; then
				echo "not tried: the step changes a UAPI header, and $a has no headers check" >"$d.state"
				continue
			fi
			if ! install_headers $((step - 1)) "$a" || ! install_headers "$step" "$a" ||
				! diff -rq "$RES/${commits[$((step - 1))]}/headers-$a/include" "$RES/${commits[$step]}/headers-$a/include" >/dev/null; then
				echo "not tried: the step changes the installed UAPI headers of $a" >"$d.state"
				continue
			fi
		fi
		if ! step_targets "$step" "$out" "$d.targets" 2>"$d.why"; then
			echo "not tried: $(tail -n 1 "$d.why")" >"$d.state"
			continue
		fi
		if [ "$(grep -c . "$d.targets")" -lt "$TOKENS_MIN" ]; then
			echo "not tried: $(grep -c . "$d.targets") targets read the step's files (fewer than $TOKENS_MIN)" >"$d.state"
			continue
		fi
		progress "$step" "$n" "$a: preprocessing the $(grep -c . "$d.targets") targets that read the step's headers, before the step"
		t0=$(date +%s)
		if ! checkout "${commits[$((step - 1))]}" || ! tree_is "${commits[$((step - 1))]}"; then
			echo "not tried: the work tree could not be checked out at the step before" >"$d.state"
			continue
		fi
		prevh=$RES/${commits[$((step - 1))]}/tokens-$a.hashes
		touch "$prevh"
		# (FILENAME, not NR == FNR: the first file may be empty.)
		awk -F'\t' 'FILENAME == ARGV[1] { h[$1] = 1; next } !($1 in h)' "$prevh" "$d.targets" >"$d.missing"
		if ! "$SAME_TOKENS" hash "$out" "$VT" "$d.missing" "$prevh" 2>"$d.why"; then
			echo "not tried: gcc -E failed before the step: $(tail -n 1 "$d.why")" >"$d.state"
			continue
		fi
		echo ready >"$d.state"
		echo $(($(date +%s) - t0)) >"$d.secs"
	done
	return 0
}

# same_tokens ARCH STEP: with the tree at STEP, keep the objects of ARCH
# whose tokens did not change (tokens_before); print what was kept.  True if
# every target was kept: the build cannot differ from the one before.
same_tokens() {
	local a=$1 step=$2 d=$RES/${commits[$2]}/tokens-$1 out=$KSA_OUT/$1-kvm prevh t0 nt nsame ahead
	[ "$(cat "$d.state" 2>/dev/null)" = ready ] || return 2
	[ "$(cat "$out/.ksa-state" 2>/dev/null)" = "$(build_state $((step - 1)) "$a")" ] || return 2
	prevh=$RES/${commits[$((step - 1))]}/tokens-$a.hashes
	# Called as "same_tokens ... || rc=$?", so without set -e: every
	# failure returns.
	checkout "${commits[$step]}" || return 2
	tree_is "${commits[$step]}" || return 2
	# What the hashes below (and tokens_ahead's) saw: a file written after
	# this makes them stale (prune_tokens).
	touch "$d.mark"
	t0=$(date +%s)
	rm -rf "$d.deps"
	: >"$d.after"
	if ! "$SAME_TOKENS" hash "$out" "$VT" "$d.targets" "$d.after" --depdir "$d.deps" 2>"$d.why"; then
		echo "gcc -E failed at the step: $(tail -n 1 "$d.why")" >"$d.state"
		return 2
	fi
	# The targets whose tokens are the same before and after.
	awk -F'\t' 'FILENAME == ARGV[1] { h[$1] = $2; next } ($1 in h) && h[$1] == $2 { print $1 }' "$prevh" "$d.after" |
		awk -F'\t' 'FILENAME == ARGV[1] { k[$1] = 1; next } ($1 in k)' - "$d.targets" >"$d.same"
	nt=$(grep -c . "$d.targets")
	nsame=$(grep -c . "$d.same" || true)
	if [ "$nsame" -gt 0 ] && ! "$SAME_TOKENS" refresh "$out" "$d.same" "$d.deps" 2>"$d.why"; then
		# A half-done refresh leaves targets that Kbuild takes as built:
		# only a full build is safe after that.
		rm -rf "$d.deps"
		die "$EX_FAIL" "same-tokens.py refresh failed for $a: $(tail -n 1 "$d.why"); remove $out and run again"
	fi
	rm -rf "$d.deps"
	cp "$d.after" "$RES/${commits[$step]}/tokens-$a.hashes"
	ahead=$(tokens_ahead "$a" "$step")
	# sparse has not seen the kept objects at their new tokens: the tip's
	# pass checks them (--tier ci; without it same_tokens is not tried on
	# sparse's architectures).
	if on sparse && [[ $SPARSE_ARCHES == *" $a "* ]]; then
		awk -F'\t' '$2 ~ /\.c$/ { print $2 }' "$d.same" >>"$RES/${commits[$step]}/build-$a.sparse-deferred.tokens"
	fi
	echo "$nsame of the $nt Kbuild targets that read the step's headers preprocess (gcc -E) to the same tokens as at the step before and were kept, not compiled ($(($(date +%s) - t0)) s; $(grep -c . "$d.missing" || true) of them preprocessed before the step, the others known from the step before)$ahead"
}

# tokens_ahead ARCH STEP: with the tree at STEP, before its build, take the
# tokens of the targets that the next step's headers reach and STEP's own
# pass did not hash, for the next step's tokens_before (which then
# preprocesses only what this misses).  Consecutive header moves so
# preprocess each target once, not twice.  Only what this pass can know
# is right is kept: the build prunes every hash whose target read a file
# the build then wrote (prune_tokens).  Prints what it did, after "; ".
tokens_ahead() {
	local a=$1 step=$2 out=$KSA_OUT/$1-kvm d=$RES/${commits[$2]}/tokens-$1 next=$(($2 + 1)) t0 nahead
	[ "$next" -le "$n" ] && header_only_step "$next" || return 0
	if [ "$next" != "$n" ] && [[ " ${tip_only[*]} " == *" $a "* ]]; then return 0; fi
	# A UAPI header step qualifies only if the installed headers stay the
	# same, which tokens_before checks: not worth guessing here.
	if grep -q '\(^\|/\)uapi/' <<<"$(changed_files "$next")"; then return 0; fi
	step_targets "$next" "$out" "$d.ahead" 2>/dev/null || return 0
	[ "$(grep -c . "$d.ahead")" -ge "$TOKENS_MIN" ] || return 0
	awk -F'\t' 'FILENAME == ARGV[1] { h[$1] = 1; next } !($1 in h)' "$d.after" "$d.ahead" >"$d.ahead.missing"
	nahead=$(grep -c . "$d.ahead.missing" || true)
	t0=$(date +%s)
	: >"$d.ahead.hashes"
	if [ "$nahead" -gt 0 ] && ! "$SAME_TOKENS" hash "$out" "$VT" "$d.ahead.missing" "$d.ahead.hashes" 2>/dev/null; then
		return 0
	fi
	cat "$d.ahead.hashes" >>"$RES/${commits[$step]}/tokens-$a.hashes"
	echo "; the tokens of the $(grep -c . "$d.ahead") targets that the next step's headers reach taken ahead, $nahead of them not among this step's ($(($(date +%s) - t0)) s)"
}

# prune_tokens ARCH STEP: after STEP's build, drop the hashes of STEP's
# targets that read a file written (by the build, say) after they were
# taken.
prune_tokens() {
	local h=$RES/${commits[$2]}/tokens-$1.hashes m=$RES/${commits[$2]}/tokens-$1.mark
	[ -s "$h" ] || return 0
	[ -f "$m" ] && "$SAME_TOKENS" prune "$KSA_OUT/$1-kvm" "$h" "$m" 2>/dev/null || rm -f "$h"
}

# build_state STEP ARCH: what .ksa-state holds after verify-bisect's build
# of ARCH at STEP (the commit and the configuration).
build_state() {
	local frags
	mapfile -t frags < <(arch_frags "$2")
	printf '%s %s\n' "${commits[$1]}" "$(frags_key "${frags[@]}")"
}

# tree_is COMMIT: the work tree is at COMMIT, with no change (a checkout
# that was interrupted leaves HEAD at the old commit and files of the new).
tree_is() { [ "$(vgit rev-parse HEAD)" = "$1" ] && vgit diff --quiet HEAD --; }

build_step() {
	local step=$1 a=$2 out log t0 t_tok rc flags=() known new sparse=0 why nsparse nobj proof='' frags only='' ndefer=0
	out=$KSA_OUT/$a-kvm
	log=$RES/${commits[$step]}/build-$a.log
	mkdir -p "${log%/*}"
	if [ "$step" != 0 ] && [ "$step" != "$n" ] && [[ " ${tip_only[*]} " == *" $a "* ]]; then
		printf 'not built at this step (--tip-only %s: built at the base and the tip); scripts/verify-bisect.sh --arch %s builds it at every step\n' "$a" "$a" |
			put_result "$step" "build-$a" skip
		return
	fi
	if why=$(untouched_inputs "$a" "$step"); then
		cp "$RES/${commits[$((step - 1))]}/build-$a.inputs" "$RES/${commits[$step]}/build-$a.inputs"
		# The build directory holds what a build of this step would.
		if [ "$(cat "$out/.ksa-state" 2>/dev/null)" = "$(build_state $((step - 1)) "$a")" ]; then
			build_state "$step" "$a" >"$out/.ksa-state"
		fi
		echo "$why" | put_result "$step" "build-$a" same
		return
	fi
	# The objects whose tokens stay the same are kept; the build below
	# compiles the others (none, for a pure move) and still runs what
	# Kbuild checks besides compiling (generated headers, their
	# checksums, objtool's header sync, the links).  Not in a subshell: a
	# failed refresh must stop the run.
	t_tok=$(date +%s)
	same_tokens "$a" "$step" >"$log.tokens" || :
	t_tok=$(($(date +%s) - t_tok + $(cat "$RES/${commits[$step]}/tokens-$a.secs" 2>/dev/null || echo 0)))
	on sparse && case $SPARSE_ARCHES in *" $a "*) sparse=1 ;; esac
	progress "$step" "$n" "build $a (W=1$([ "$sparse" = 1 ] && echo ", C=1")), $((full_done + step_done + 1)) of $((full_total + step_total)) builds, about $(estimate) left"
	checkout "${commits[$step]}"
	t0=$(date +%s)
	[ "$sparse" = 0 ] || flags+=(C=1 "CHECK=$(sparse_wrapper)")
	# The baseline is a full build, so that every file's warnings (and
	# sparse's) are known before the first patch.
	[ "$step" != 0 ] || rm -rf "$out"
	mapfile -t frags < <(arch_frags "$a")
	# Objects that an interrupted or failed build compiled are up to date
	# for make but their warnings were not kept: compile them again.
	if [ -f "$out/.ksa-build-start" ] && [ ! -f "$out/.ksa-build-done" ]; then
		find "$out" -name '*.o' -newer "$out/.ksa-build-start" -delete
	fi
	(kconfig_for "$VT" "$out" "$a" "${frags[@]}") >"$log" 2>&1 ||
		die "$EX_FAIL" "${frags[*]##*/} do not configure: $(tail -n 1 "$log")"
	# --tier ci: sparse on the C files the step changes; the other files
	# the step recompiles are left to the sparse pass at the tip.
	if [ "$sparse" = 1 ] && [ -n "$tier" ] && [ "$step" != 0 ]; then
		only=$out/.ksa-sparse-only
		changed_files "$step" | { grep '\.c$' || true; } | while read -r f; do realpath -m "$VT/$f"; done >"$only"
	fi
	rc=0
	rm -f "$out/.ksa-build-done"
	touch "$out/.ksa-build-start"
	: >"$out/.ksa-sparse-files"
	: >"$out/.ksa-sparse-defer"
	{ kmake "$VT" "$out" "$a" olddefconfig && (kconfig_check "$out" "${frags[@]}") &&
		KSA_SPARSE=$SPARSE KSA_SPARSE_LOG=$out/.ksa-sparse-files KSA_SPARSE_ONLY=$only KSA_SPARSE_DEFER=$out/.ksa-sparse-defer \
			kbuild "$VT" "$out" "$a" "${flags[@]}" all; } >>"$log" 2>&1 || rc=$?
	if [ "$step" = 0 ]; then
		full_secs=$((full_secs + $(date +%s) - t0)) full_done=$((full_done + 1))
	else
		step_secs=$((step_secs + $(date +%s) - t0)) step_done=$((step_done + 1))
	fi
	if [ "$rc" != 0 ]; then
		find "$out" -name '*.o' -newer "$out/.ksa-build-start" -delete
	fi
	touch "$out/.ksa-build-done"
	echo $(($(date +%s) - t0 + t_tok)) >"$RES/${commits[$step]}/build-$a.secs"
	# What sparse left to the tip, also when the build failed: the objects
	# that compiled are not compiled again at the next step.
	if [ -n "$only" ]; then
		sed "s#^$(realpath "$VT")/##" "$out/.ksa-sparse-defer" | sort -u >"$RES/${commits[$step]}/build-$a.sparse-deferred"
	fi
	normalize <"$log" >"$RES/${commits[$step]}/build-$a.warnings"
	if [ "$rc" != 0 ]; then
		{ grep -E -i -m 20 'error[: ]' "$log" || tail -n 20 "$log"; } | put_result "$step" "build-$a" fail
		return
	fi
	build_inputs "$out" "$step" "$a"
	prune_tokens "$a" "$step"
	snapshot_objects "$step" "$a"
	snapshot_generated "$step" "$a"
	build_state "$step" "$a" >"$out/.ksa-state"
	if [ "$sparse" = 1 ]; then
		# Kbuild drops C=1 with only a warning when it does not accept the
		# checker: that is a failure here, and so is a build that compiled C
		# files without sparse seeing one.
		nsparse=$(cut -f1 "$out/.ksa-sparse-files" | sort -u | grep -c . || true)
		sparse_secs "$out" >"$RES/${commits[$step]}/build-$a.sparse-secs"
		nobj=$(c_objects_since "$out" "$out/.ksa-build-start")
		[ -z "$only" ] || ndefer=$(grep -c . "$RES/${commits[$step]}/build-$a.sparse-deferred" || true)
		if grep -q 'is not available or not up to date' "$log" || { [ "$nobj" -gt 0 ] && [ $((nsparse + ndefer)) = 0 ]; }; then
			{ echo "sparse did not run ($nobj C objects compiled, sparse saw $nsparse files):"; grep -m 3 'C=1' "$log" || true; } |
				put_result "$step" "build-$a" fail
			return
		fi
		proof="; sparse checked $nsparse C files ($nobj objects compiled)"
		[ -z "$only" ] || proof="; sparse checked the $nsparse C files of the step it compiled ($nobj objects compiled; $ndefer other files left to the sparse pass at the tip, --tier ci)"
	fi
	[ ! -s "$log.tokens" ] || proof="$proof; $(cat "$log.tokens")"
	[ "$step" = 0 ] && { echo "baseline: $(wc -l <"$RES/${commits[$step]}/build-$a.warnings") warnings$proof" | put_result 0 "build-$a" pass; return; }
	known=$(known_warnings "build-$a" "$step")
	new=$(comm -13 <(printf '%s\n' "$known") "$RES/${commits[$step]}/build-$a.warnings")
	if [ -n "$new" ]; then
		{ echo "new warnings:"; printf '%s\n' "$new"; } | put_result "$step" "build-$a" fail
	else
		echo "no new warnings$proof" | put_result "$step" "build-$a" pass
	fi
}
