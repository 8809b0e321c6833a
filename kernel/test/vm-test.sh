#!/usr/bin/env bash
# Build the qenex_banking module against a Debian kernel's headers, boot that kernel in qemu
# (software emulation) with an initramfs holding the module and the static test client, and
# fail unless the client and the load/unload checks pass. Installs what it needs from Debian
# apt when missing (needs root then). See ../shared/notes/kernel-vm-testing.md for the timings.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${QENEX_KERNEL_BUILD:-$here/build}
mkdir -p "$build"
log() { echo "vm-test: $*" >&2; }

packages=(linux-headers-amd64 build-essential qemu-system-x86 busybox-static cpio kmod)
need=()
for tool in qemu-system-x86_64:qemu-system-x86 busybox:busybox-static cpio:cpio gcc:build-essential make:build-essential; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
done
dpkg-query -W -f '${Status}' linux-headers-amd64 2>/dev/null | grep -q "install ok installed" || need+=(linux-headers-amd64)
busybox --list 2>/dev/null | grep -qx insmod || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing ${need[*]}; run as root (or: apt-get install ${packages[*]})"; exit 2
  fi
  log "installing ${packages[*]} from Debian apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# The kernel ABI the headers meta package points at; image and headers must match.
abi=$(dpkg-query -W -f '${Depends}' linux-headers-amd64 | grep -o 'linux-headers-[0-9][^ ,]*' | head -1)
abi=${abi#linux-headers-}
headers=/usr/src/linux-headers-$abi
[ -d "$headers" ] || { log "no $headers"; exit 2; }
vmlinuz=$build/vmlinuz-$abi
if [ ! -s "$vmlinuz" ] || [ ! -d "$build/modules-$abi" ]; then
  log "fetching the linux-image-$abi kernel"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download -qq "linux-image-$abi" 2>/dev/null ||
     { [ "$(id -u)" = 0 ] && apt-get update -qq && apt-get download -qq "linux-image-$abi"; })
  dpkg-deb -x "$tmp"/linux-image-*.deb "$tmp/x"
  cp "$tmp"/x/boot/vmlinuz-* "$vmlinuz"
  # the 9p modules that let the VM mount this machine's root read-only (for the Python suite)
  modules=$build/modules-$abi
  rm -rf "$modules" && mkdir -p "$modules"
  src=$tmp/x/lib/modules/$abi
  for ko in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p; do
    found=$(find "$src/kernel" -name "$ko.ko*" | head -1)
    [ -n "$found" ] && cp "$found" "$modules/"
  done
fi

log "building the module against $headers"
mkdir -p "$build/module"
cp "$here/qenex_kernel.c" "$here/qenex_ioctl.h" "$here/Kbuild" "$build/module/"
make -s -C "$headers" M="$build/module" modules >"$build/module.log" 2>&1 || { cat "$build/module.log"; exit 1; }
gcc -static -O2 -Wall -Wextra -Werror -I"$here" -o "$build/qenex_client" "$here/test/qenex_client.c"

root=$build/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys}
cp "$(command -v busybox)" "$root/bin/busybox"
cp "$here/test/init" "$root/init"
chmod 755 "$root/init"
cp "$build/module/qenex_kernel.ko" "$build/qenex_client" "$root/"
virtfs=()
if [ -n "${QENEX_VM_PYTHON:-}" ] && [ -d "$build/modules-$abi" ]; then
  # Also run the Python backend suite against the real device: the VM mounts this machine's
  # root read-only over 9p and runs QENEX_VM_PYTHON (a venv's python) in QENEX_VM_REPO there.
  mkdir -p "$root/modules"
  cp "$build/modules-$abi"/*.ko "$root/modules/"
  printf 'PYTHON=%s\nREPO=%s\n' "$QENEX_VM_PYTHON" "${QENEX_VM_REPO:-$(dirname "$here")}" >"$root/python.env"
  virtfs=(-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap)
fi
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$build/initramfs.cpio.gz"

log "booting $abi in qemu (software emulation)"
serial=$build/serial.log
set +e
timeout 480 qemu-system-x86_64 -m 1G -smp 2 -nic none -nographic -no-reboot \
  "${virtfs[@]}" -kernel "$vmlinuz" -initrd "$build/initramfs.cpio.gz" \
  -append 'console=ttyS0 panic=-1 loglevel=4' </dev/null >"$serial" 2>&1
status=$?
set -e
grep -a -E '^(ok|not ok|#|QENEX-VM|PY )|qenex_banking' "$serial" | tr -d '\r' || true
if [ $status -ne 0 ] && [ $status -ne 124 ]; then log "qemu exited with $status"; fi
if grep -a -q 'QENEX-VM-TEST: PASS' "$serial"; then
  log "PASS"
  exit 0
fi
log "FAIL (serial log: $serial)"
tail -n 40 "$serial" | tr -d '\r' >&2
exit 1
