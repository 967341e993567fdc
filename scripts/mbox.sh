#!/usr/bin/env bash
# Write the series as one mbox thread, as a list archive serves a posting,
# for b4 and git am.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
guard_exit

usage() {
	cat <<USAGE
Usage: $KSA_PROG [-o FILE]

Write patches/ as one mbox thread: the cover letter (0000-cover-letter.patch)
first, then the patches in the order of 'series', each mail followed by a
blank line.  Every mail gets a Message-ID header and every patch In-Reply-To
and References headers that name the cover letter (the shallow thread of
'git format-patch --thread'); nothing else in the mails changes.  The
Message-ID is <kvm-s390-arm64.N.HASH@example.org>, N the position in the
thread (0 for the cover letter) and HASH the first 16 hex digits of the
sha256 of the mail as patches/ holds it: the same series gives the same
mbox on every machine, and a changed mail gets a new id.

The cover letter's Message-ID is printed on stderr.  The mbox is what b4
takes from a list archive, without the network:

  b4 am -m FILE -o DIR MSGID    (DIR/*.mbx is then ready for git am)

  -o, --output FILE  write the mbox to FILE instead of stdout

Exit codes: 0 written, 1 a mail cannot be written as one of an mbox (a line
of its body starts with "From ", or it has thread headers already), 2 bad
usage or a bad 'series', 3 a tool is missing; 130 or 143 interrupted.
USAGE
}

out=
while [ $# -gt 0 ]; do
	case $1 in
	-o | --output) [ $# -ge 2 ] || usage_error "$1 needs a file"; out=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage_error "unknown argument '$1'" ;;
	esac
done
need_cmd sha256sum:coreutils

series_txt=$(series_checked) || exit
mapfile -t patches < <(printf '%s' "$series_txt" | sed '/^$/d')
mails=(0000-cover-letter.patch "${patches[@]}")
domain=${KSA_EMAIL#*@}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ksa-mbox.XXXXXX")
on_exit_remove "$tmp"

# thread_mail FILE MSGID [PARENT]: the mail of FILE with its thread headers added
# at the end of its header, then the blank line that ends it in the mbox.
# Exits 2 if it has thread headers already, 3 if a body line would start a
# new mail, 4 if it has no header.
thread_mail() {
	awk -v id="$2" -v parent="${3:-}" '
		hdr && tolower($0) ~ /^(message-id|in-reply-to|references):/ { bad = 2; exit }
		hdr && /^$/ {
			print "Message-ID: <" id ">"
			if (parent != "") {
				print "In-Reply-To: <" parent ">"
				print "References: <" parent ">"
			}
			hdr = 0
			body = 1
		}
		body && /^From / { bad = 3; exit }
		NR == 1 { hdr = 1 }
		{ print }
		END {
			if (bad) exit bad
			if (!body) exit 4
			print ""
		}' "$1"
}

cover=
i=0
for f in "${mails[@]}"; do
	id=kvm-s390-arm64.$i.$(sha256sum "$KSA_ROOT/patches/$f" | cut -c1-16)@$domain
	rc=0
	thread_mail "$KSA_ROOT/patches/$f" "$id" "$cover" >>"$tmp/mbox" || rc=$?
	case $rc in
	0) ;;
	2) die "$EX_FAIL" "patches/$f has a Message-ID, In-Reply-To or References header already: export it again with scripts/export.sh" ;;
	3) die "$EX_FAIL" "a line of patches/$f starts with \"From \", which would start a new mail in an mbox: reword that line of the commit message" ;;
	4) die "$EX_FAIL" "patches/$f has no mail header (no blank line after it): export it again with scripts/export.sh" ;;
	*) die "$EX_FAIL" "awk failed on patches/$f" ;;
	esac
	[ -n "$cover" ] || cover=$id
	i=$((i + 1))
done

if [ -z "$out" ]; then
	cat "$tmp/mbox"
else
	# Next to FILE, then renamed: never a half-written mbox.
	part=$(mktemp "$out.XXXXXX" 2>/dev/null) ||
		die "$EX_FAIL" "cannot write $out: check that its directory exists and is writable"
	on_exit_remove "$part"
	cp "$tmp/mbox" "$part"
	chmod "$(printf '%o' $((0666 & ~0$(umask))))" "$part"
	mv "$part" "$out"
fi
log "wrote ${#mails[@]} mails (the cover letter and ${#patches[@]} patches); the thread is <$cover>"
