#!/usr/bin/env bash
# progress.sh WHAT CMD [ARG...]: runs CMD with its output (stdout and stderr, merged) passed
# through line by line, and whenever CMD has printed nothing for 15 s prints
# "... still WHAT (N s)", so that a long silent step (a cold build, a test package) shows that
# it is working. Exits with CMD's exit status.
set -uo pipefail
what=$1
shift
every=${PROGRESS_EVERY:-15}
start=$SECONDS
"$@" 2>&1 | {
	pending= # the start of a line whose end has not arrived yet
	stale=0  # whether pending has waited a whole interval already
	while :; do
		line=
		if IFS= read -r -t "$every" line; then
			printf '%s%s\n' "$pending" "$line"
			pending= stale=0
		elif [ $? -gt 128 ]; then
			pending+=$line
			if [ -n "$line" ]; then
				stale=0 # output arrived during this interval: not silent
				continue
			fi
			if [ -n "$pending" ]; then
				if [ "$stale" = 0 ]; then
					stale=1
					continue
				fi
				printf '%s\n' "$pending" # silent ever since: show what there is
				pending= stale=0
			fi
			printf '... still %s (%d s)\n' "$what" $((SECONDS - start))
		else
			if [ -n "$pending$line" ]; then printf '%s%s\n' "$pending" "$line"; fi
			break
		fi
	done
}
exit "${PIPESTATUS[0]}"
