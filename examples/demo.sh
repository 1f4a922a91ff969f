#!/usr/bin/env bash
# make demo: an upload with preflight against a local S3 server, no AWS account needed.
#
# Starts the local versitygw server (make server-start) unless one is running, creates a
# bucket and two IAM users (one allowed to upload, one whose policy denies
# s3:AbortMultipartUpload), generates a 256 MiB file, preflights the upload for both users,
# uploads it as the allowed user with progress, verifies the object, lists the multipart
# uploads left (none), then removes the users and the bucket and stops the server if it
# started it; its last line says whether it finished and what it cleaned up. Long silent steps
# (the first build, the first install of versitygw) say every 15 s that they are still working.
# Credentials stay in files of mode 0600 in a temporary directory; none is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.bin
GO=${GO:-go}
SIZE_MIB=${S3MPU_DEMO_MIB:-256}

work=$(mktemp -d "${TMPDIR:-/tmp}/s3mpu-demo.XXXXXX")
started=0
start=$SECONDS
# cleanup removes what the demo made and ends with one line saying how the demo ended and
# what was cleaned up.
cleanup() {
	rc=$?
	set +e
	local cleaned=()
	if [ -f "$work/state.json" ]; then
		if "$BIN/s3mpudemo" teardown -dir "$work"; then
			cleaned+=("removed the demo's bucket${BUCKET:+ s3://$BUCKET} and its users writer and noabort")
		else
			cleaned+=("could not remove everything the demo made (see above)")
		fi
	fi
	if [ "$started" = 1 ]; then
		if make --no-print-directory -C "$ROOT" server-stop >/dev/null; then
			cleaned+=("stopped the local server and removed its data")
		else
			cleaned+=("could not stop the local server (make server-stop)")
		fi
	elif [ "${server_seen:-0}" = 1 ]; then
		cleaned+=("left the local server running, as it was before (make server-stop stops it)")
	fi
	rm -rf "$work"
	cleaned+=("removed the temporary files")
	local summary
	summary=$(IFS=';'; echo "${cleaned[*]}")
	summary=${summary//;/; }
	if [ "$rc" = 0 ]; then
		printf '\n%sdemo: finished in %d s: %s%s\n' "${bold:-}" $((SECONDS - start)) "$summary" "${off:-}"
	else
		printf '\n%sdemo: FAILED (exit status %s) after %d s: %s%s\n' "${bold:-}" "$rc" $((SECONDS - start)) "$summary" "${off:-}" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then bold=$'\033[1m'; off=$'\033[0m'; else bold=; off=; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
# as USER CODE CMD...: runs CMD with USER's credentials (sourced from its 0600 file, never
# shown), printing it as typed; fails the demo when its exit status is not CODE.
as() {
	local user=$1 want=$2 rc=0
	shift 2
	printf '%s[%s]$ %s%s\n' "$bold" "$user" "$*" "$off"
	# shellcheck disable=SC1090
	(. "$work/$user.env" && "$@") || rc=$?
	if [ "$rc" != 0 ]; then printf '(exit status %s)\n' "$rc"; fi
	if [ "$rc" != "$want" ]; then
		echo "demo: expected exit status $want, got $rc" >&2
		exit 1
	fi
}

step "Building s3mpu and the demo's setup program (the first build compiles the AWS SDK)"
scripts/progress.sh "building s3mpu" $GO build -o "$BIN/s3mpu" ./examples/s3mpu
(cd integration && ../scripts/progress.sh "building the demo's setup program" $GO build -o "$BIN/s3mpudemo" ./cmd/s3mpudemo)
make --no-print-directory -s "$BIN/s3server"

step "Starting the local S3 server (versitygw, HTTPS with a self-signed certificate)"
if "$BIN/s3server" status >/dev/null 2>&1; then
	echo "a server is already running; using it"
	server_seen=1
else
	make --no-print-directory server-start
	started=1
fi

step "Creating a bucket and two users: 'writer' may upload; 'noabort' is denied s3:AbortMultipartUpload"
"$BIN/s3mpudemo" setup -dir "$work"
# shellcheck disable=SC1091
. "$work/demo.env"
export PATH="$BIN:$PATH" AWS_ENDPOINT_URL_S3="$ENDPOINT" AWS_CA_BUNDLE="$CA_FILE" AWS_REGION="$REGION" AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN
echo "bucket:  s3://$BUCKET"
echo "writer:  $WRITER_ARN"
echo "noabort: $NOABORT_ARN"
echo "server:  $ENDPOINT (AWS_ENDPOINT_URL_S3), CA $CA_FILE (AWS_CA_BUNDLE)"
cd "$work"
echo
echo "writer-policy.json:"
cat writer-policy.json
echo "noabort-policy.json:"
cat noabort-policy.json

step "Generating a ${SIZE_MIB} MiB file"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >backup.bin
ls -l backup.bin

# versitygw applies none of S3's owner-or-initiator default rules: --server-profile nodefaults.
common=(--server-profile nodefaults)

step "Preflight as 'writer': every multipart step is allowed"
as writer 0 s3mpu preflight "s3://$BUCKET/backup.bin" --size "${SIZE_MIB}MiB" --caller "$WRITER_ARN" --identity-policy writer-policy.json "${common[@]}"

step "Preflight as 'noabort': Abort is denied, with the reason and the remedy (exit status 3)"
as noabort 3 s3mpu preflight "s3://$BUCKET/backup.bin" --size "${SIZE_MIB}MiB" --caller "$NOABORT_ARN" --identity-policy noabort-policy.json "${common[@]}"

step "Upload as 'noabort' with --preflight enforce: refused before a byte is sent"
as noabort 3 s3mpu upload backup.bin "s3://$BUCKET/backup.bin" --preflight enforce --caller "$NOABORT_ARN" --identity-policy noabort-policy.json "${common[@]}"

step "Upload as 'writer' with --preflight enforce and progress"
as writer 0 s3mpu upload backup.bin "s3://$BUCKET/backup.bin" --part-size 16MiB --concurrency 4 --preflight enforce --caller "$WRITER_ARN" --identity-policy writer-policy.json "${common[@]}"

step "Verifying the object: size and SHA-256 of the downloaded bytes against the file"
"$BIN/s3mpudemo" verify -dir "$work" -file backup.bin -key backup.bin

step "Multipart uploads left in the bucket"
as writer 0 s3mpu uploads ls "s3://$BUCKET" --caller "$WRITER_ARN" --identity-policy writer-policy.json "${common[@]}"

step "Removing the demo's users and bucket"
