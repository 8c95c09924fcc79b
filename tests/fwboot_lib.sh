# Sourced by the firmware-boot tests (disk_boot.sh, cdrom_boot.sh,
# firmware_boot.sh): start vmm or the QEMU reference, wait for a serial mark,
# stop the VM, check and extract the marks. POSIX sh; no state but $tmp.

# fw_wait FILE REGEX PID SECONDS: until FILE matches REGEX (grep -E), PID ends
# or SECONDS pass. Status 0 when the regex matched.
fw_wait() {
	_i=0
	while [ "$_i" -lt "$4" ]; do
		grep -aqE "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 1
		_i=$((_i + 1))
	done
	grep -aqE "$2" "$1" 2>/dev/null
}

# fw_stop PID: SIGTERM presses the power button (which SeaBIOS and a halted
# boot loader ignore), a second SIGTERM ends vmm at once (docs/usage.md,
# SIGNALS), QEMU ends at the first; SIGKILL if still there. Then reaps PID.
fw_stop() {
	kill -TERM "$1" 2>/dev/null && sleep 1
	kill -TERM "$1" 2>/dev/null && sleep 1
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# fw_marks NAME FILE MARK...: "ok"/"FAIL" per fixed-string MARK in FILE;
# status 1 if one is missing.
fw_marks() {
	_name=$1 _file=$2 _rc=0
	shift 2
	for _m in "$@"; do
		if grep -aqF -- "$_m" "$_file"; then
			echo "ok: $_name shows '$_m'"
		else
			echo "FAIL: $_name lacks '$_m'"
			_rc=1
		fi
	done
	return $_rc
}

# fw_essentials FILE MARK...: the MARKs (fixed strings) in the order FILE
# shows them, one a line, repeats in a row collapsed: the "essentials" two
# transcripts are compared on (the firmwares' line breaks and escape
# sequences differ between VMMs).
fw_essentials() {
	_file=$1
	shift
	_pat=$(mktemp)
	printf '%s\n' "$@" >"$_pat"
	tr -d '\r' <"$_file" | grep -aoF -f "$_pat" | uniq
	rm -f "$_pat"
}

# fw_compare A B MARKS: the essentials (MARKS separated by '|') of serial
# logs A (vmm) and B (QEMU) must be equal; prints them or the difference.
fw_compare() {
	_a=$1 _b=$2
	IFS='|'
	# shellcheck disable=SC2086
	fw_essentials "$_a" $3 >"$_a.ess"
	# shellcheck disable=SC2086
	fw_essentials "$_b" $3 >"$_b.ess"
	unset IFS
	if ! cmp -s "$_a.ess" "$_b.ess"; then
		echo "FAIL: the essential serial marks differ between vmm (<) and QEMU (>):"
		diff "$_a.ess" "$_b.ess"
		return 1
	fi
	echo "essentials (vmm = QEMU):"
	sed 's/^/  | /' "$_a.ess"
}

# fw_transcript NAME FILE: the first 3000 bytes of a serial log, for failures.
fw_transcript() {
	echo "---- $1:"
	tr -d '\033' <"$2" | head -c 3000
	echo
}

# fw_sercon FILE: the fw_cfg file etc/sercon-port = 0x3f8 (little-endian, as
# SeaBIOS's romfile_loadint reads it) so that QEMU's SeaBIOS prints on COM1,
# as vmm's does by default.
fw_sercon() {
	printf '\370\003' >"$1"
}
