#!/bin/sh
# Firmware boot through vmm: SeaBIOS (Debian's seabios package) from its ROM
# mapping, fw_cfg and the virtio-blk disk: the banner and the boot attempts
# must reach COM1 ("Booting from Hard Disk..." means SeaBIOS found and read the
# blank disk through virtio-blk), then "No bootable device." where it waits.
# Usage: firmware_boot.sh path/to/vmm. Exit 0 pass, 1 fail, 77 skip (no
# /dev/kvm or no SeaBIOS).
VMM=${1:?usage: firmware_boot.sh path/to/vmm}
# The default firmware (no -bios: Debian's bios-256k.bin); FIRMWARE_BOOT_BIOS
# picks another image, e.g. /usr/share/seabios/bios.bin.
BIOS=${FIRMWARE_BOOT_BIOS:-/usr/share/seabios/bios-256k.bin}
[ -r "$BIOS" ] || { echo "skip: no $BIOS (apt-get install seabios)"; exit 77; }
BIOS_ARG=
[ -n "${FIRMWARE_BOOT_BIOS:-}" ] && BIOS_ARG="-bios $BIOS"
[ -c "${VMM_KVM_DEVICE:-/dev/kvm}" ] || { echo "skip: no /dev/kvm"; exit 77; }
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
truncate -s 16M "$tmp/blank.raw"
"$VMM" -m 128M $BIOS_ARG -drive "file=$tmp/blank.raw,format=raw" -boot order=c \
	-serial "file:$tmp/com1" </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
i=0
while [ $i -lt 240 ]; do
	grep -q "No bootable device" "$tmp/com1" 2>/dev/null && break
	kill -0 $pid 2>/dev/null || break
	sleep 1
	i=$((i + 1))
done
# SIGTERM presses the power button, which SeaBIOS ignores; a second one ends
# vmm at once (docs/usage.md, SIGNALS).
kill -TERM $pid 2>/dev/null
sleep 1
kill -TERM $pid 2>/dev/null
wait $pid
rc=$?
fail=0
for want in "SeaBIOS (version" "Booting from Hard Disk..." "No bootable device."; do
	if grep -qF "$want" "$tmp/com1"; then
		echo "ok: COM1 shows '$want'"
	else
		echo "FAIL: COM1 lacks '$want'"
		fail=1
	fi
done
if [ "$rc" -ne 0 ]; then
	echo "FAIL: vmm exit status $rc after SIGTERM"
	fail=1
fi
if [ $fail -ne 0 ]; then
	echo "---- COM1:"; tr -d '\033' <"$tmp/com1" | head -c 3000; echo
	echo "---- stderr:"; cat "$tmp/err"
	exit 1
fi
echo "firmware boot: pass"
