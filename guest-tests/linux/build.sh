#!/bin/sh
# Builds the vmm test kernel (vmlinux + bzImage) from Debian's linux-source-6.1
# and the busybox initramfs, cached in ${VMM_CACHE:-~/.cache/vmm}/linux-<hash>/
# where <hash> covers config.fragment, edits.sh and this script (the initramfs
# is rebuilt when init or busybox change). Idempotent:
# a rerun with the same recipe is instant. Prints the artefact paths (KEY=path).
#   build.sh           build what is missing, print the paths
#   build.sh --paths   only print the paths; exit 1 if an artefact is missing
# Runs on the host only (never under scripts/with-kvm: TCG would take hours).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src_tar=${LINUX_SOURCE_TAR:-/usr/src/linux-source-6.1.tar.xz}
jobs=${VMM_LINUX_JOBS:-2}
cache=${VMM_CACHE:-$HOME/.cache/vmm}
hash=$(cat "$here/config.fragment" "$here/edits.sh" "$here/build.sh" | sha256sum | cut -c1-16)
dir=$cache/linux-$hash
vmlinux=$dir/vmlinux
bzimage=$dir/bzImage
initrd=$dir/initramfs.cpio.gz

print_paths() {
	echo "VMLINUX=$vmlinux"
	echo "BZIMAGE=$bzimage"
	echo "INITRD=$initrd"
}

build_kernel() {
	[ -r "$src_tar" ] || { echo "build.sh: $src_tar missing (apt-get install linux-source-6.1)" >&2; exit 1; }
	mkdir -p "$dir"
	# One builder at a time per recipe (parallel ctest / scripts/test).
	exec 9>"$dir/lock"
	flock 9
	[ -f "$vmlinux" ] && [ -f "$bzimage" ] && return 0
	if [ ! -f "$dir/src/.extracted" ]; then
		rm -rf "$dir/src"
		mkdir -p "$dir/src"
		tar -xJf "$src_tar" -C "$dir/src" --strip-components=1
		(cd "$dir/src" && sh "$here/edits.sh")
		touch "$dir/src/.extracted"
	fi
	mkdir -p "$dir/obj"
	make -s -C "$dir/src" O="$dir/obj" tinyconfig >/dev/null
	(cd "$dir/obj" && "$dir/src/scripts/kconfig/merge_config.sh" -m -O "$dir/obj" .config "$here/config.fragment" >/dev/null)
	make -s -C "$dir/src" O="$dir/obj" olddefconfig >/dev/null
	# Every fragment line must have survived olddefconfig (a dependency missing
	# would silently drop it).
	grep -v '^#' "$here/config.fragment" | grep . | while read -r line; do
		case $line in
		*=n) opt=${line%=n}; ! grep -q "^$opt=" "$dir/obj/.config" || { echo "build.sh: $opt not disabled" >&2; exit 1; } ;;
		*) grep -qx "$line" "$dir/obj/.config" || { echo "build.sh: $line dropped by olddefconfig" >&2; exit 1; } ;;
		esac
	done
	make -s -C "$dir/src" O="$dir/obj" -j"$jobs" vmlinux bzImage
	cp "$dir/obj/vmlinux" "$vmlinux.tmp" && mv "$vmlinux.tmp" "$vmlinux"
	cp "$dir/obj/arch/x86/boot/bzImage" "$bzimage.tmp" && mv "$bzimage.tmp" "$bzimage"
}

build_initrd() {
	busybox=$(command -v busybox || true)
	[ -n "$busybox" ] || { echo "build.sh: busybox missing (apt-get install busybox-static)" >&2; exit 1; }
	if ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
		ldd "$busybox" >/dev/null 2>&1 && { echo "build.sh: $busybox is not static" >&2; exit 1; }
	fi
	stamp=$(cat "$here/init" "$busybox" | sha256sum | cut -c1-16)
	[ -f "$initrd" ] && [ "$(cat "$dir/initramfs.stamp" 2>/dev/null)" = "$stamp" ] && return 0
	root=$(mktemp -d)
	mkdir -p "$root/bin" "$root/sbin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp"
	cp "$busybox" "$root/bin/busybox"
	for app in sh mount mkdir cat echo ls grep dd poweroff sleep; do
		ln -s busybox "$root/bin/$app"
	done
	cp "$here/init" "$root/init"
	chmod 755 "$root/init"
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -9n) >"$initrd.tmp"
	rm -rf "$root"
	mv "$initrd.tmp" "$initrd"
	echo "$stamp" >"$dir/initramfs.stamp"
}

if [ "${1:-}" = "--paths" ]; then
	print_paths
	[ -f "$vmlinux" ] && [ -f "$bzimage" ] && [ -f "$initrd" ]
	exit
fi
build_kernel
build_initrd
print_paths
