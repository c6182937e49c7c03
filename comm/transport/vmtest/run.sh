#!/usr/bin/env bash
# Tests the sctp transport against real kernel SCTP inside a small qemu VM.
#
# The kernels of the development and CI machines have no SCTP, so the sctp
# tests of comm/transport and comm skip there. This script boots Debian's
# kernel (which has SCTP as a module) under qemu with software emulation
# (no KVM needed), in an initramfs holding busybox, the sctp module and its
# dependencies, and static test binaries of comm/transport and comm. Inside
# the VM it runs the transport suite over sctp and tcp (several streams,
# message boundaries, 64 MiB transfers, ...) and comm's SCTP exchange (two
# containers talking through the comm layer), then the bandwidth benchmark
# for tcp and sctp in the same VM, and prints the sctp/tcp ratio.
#
# It fails (exit 1) when a test fails, when an sctp test skipped instead of
# running, or when the VM does not finish within the deadline.
#
# Usage: comm/transport/vmtest/run.sh        (as root, for apt-get)
# Environment:
#   VMTEST_TIMEOUT  seconds the VM may run, boot to power-off (default 900)
#   VMTEST_BENCH    0 skips the bandwidth benchmark (default 1)
#   VMTEST_KEEP     1 keeps the work directory (default 0: removed)
#   VMTEST_CACHE    where the kernel's pieces are kept between runs
#                   (default /var/cache/volley-vmtest; remove it to refresh)
#
# Needs: Debian's qemu-system-x86, busybox-static and a linux-image-amd64
# kernel. The first two are installed with apt-get when missing. The kernel
# is the installed one when it has the sctp module; otherwise the package
# linux-image-amd64 points to is fetched with apt-get download, and only the
# kernel image and the five modules are extracted from it into VMTEST_CACHE
# (a few seconds, instead of minutes for apt-get install, and the host's
# /boot is left alone).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
DEADLINE=${VMTEST_TIMEOUT:-900}
BENCH=${VMTEST_BENCH:-1}
CACHE=${VMTEST_CACHE:-/var/cache/volley-vmtest}
MODULES=(crc32c_generic libcrc32c udp_tunnel ip6_udp_tunnel sctp)
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

say() { echo "vmtest: $*" >&2; }
die() {
	say "FAIL: $*"
	exit 1
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/volley-vmtest.XXXXXX")
cleanup() {
	if [[ ${VMTEST_KEEP:-0} == 1 ]]; then
		say "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

# --- packages -------------------------------------------------------------

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

APT_UPDATED=0
apt_update() {
	if [[ $APT_UPDATED == 0 ]]; then
		say "apt-get update"
		apt-get update -qq >&2
		APT_UPDATED=1
	fi
}

missing=()
for p in qemu-system-x86 busybox-static; do
	installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
	apt_update
	say "apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found after installing qemu-system-x86"
BUSYBOX=/bin/busybox
[[ -x $BUSYBOX ]] && ! ldd "$BUSYBOX" >/dev/null 2>&1 || die "$BUSYBOX is missing or not static (want busybox-static)"

# --- kernel and modules ---------------------------------------------------

KVER=
# An installed Debian kernel with the sctp module, if there is one.
for vmlinuz in /boot/vmlinuz-*-amd64; do
	[[ -e $vmlinuz ]] || continue
	v=${vmlinuz#/boot/vmlinuz-}
	if compgen -G "/lib/modules/$v/kernel/net/sctp/sctp.ko*" >/dev/null; then
		KVER=$v
		VMLINUZ=$vmlinuz
		MODROOT=/lib/modules/$v
	fi
done
if [[ -z $KVER ]]; then
	# Otherwise the pieces of Debian's kernel package that the VM needs,
	# kept in CACHE (not in apt's archive, which Docker images empty after
	# every install).
	kc=$(ls -d "$CACHE"/kernel-* 2>/dev/null | sort -V | tail -n 1 || true)
	if [[ -z $kc ]]; then
		apt_update
		pkg=$(apt-cache depends linux-image-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}')
		[[ -n $pkg ]] || die "cannot tell which kernel package linux-image-amd64 depends on"
		say "apt-get download $pkg"
		mkdir -p "$WORK/deb"
		(cd "$WORK/deb" && apt-get download -qq "$pkg" 2>&1 | { grep -v unsandboxed || true; } >&2)
		deb=$(ls "$WORK/deb/${pkg}"_*.deb)
		mkdir -p "$CACHE"
		tmp=$(mktemp -d "$CACHE/.new.XXXXXX")
		# Only the kernel image, modules.builtin and the modules we load.
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards --no-anchored \
			'boot/vmlinuz-*' 'modules.builtin' $(printf "%s.ko* " "${MODULES[@]}") ||
			say "not every module is in $deb (checked below)"
		v=$(ls "$tmp"/boot/ | sed -n 's/^vmlinuz-//p' | head -n 1)
		[[ -n $v ]] || die "no kernel image in $deb"
		kc=$CACHE/kernel-$v
		mv -T "$tmp" "$kc" 2>/dev/null || rm -rf "$tmp" # another run got there first
		rm -rf "$WORK/deb"
	fi
	VMLINUZ=$(ls "$kc"/boot/vmlinuz-* | head -n 1)
	KVER=${VMLINUZ##*/vmlinuz-}
	for d in "$kc"/{lib,usr/lib}/modules/"$KVER"; do
		[[ -d $d ]] && MODROOT=$d
	done
	say "kernel from $kc"
fi
[[ -n ${MODROOT:-} && -d $MODROOT ]] || die "no modules directory for kernel $KVER"
say "kernel $KVER"

# --- initramfs ------------------------------------------------------------

RD=$WORK/root
mkdir -p "$RD"/{bin,dev,proc,sys,tmp,modules,tests}
cp "$BUSYBOX" "$RD/bin/busybox"
for m in "${MODULES[@]}"; do
	f=$(find "$MODROOT/kernel" -name "$m.ko*" | head -n 1)
	if [[ -z $f ]]; then
		grep -q "/$m.ko\$" "$MODROOT/modules.builtin" 2>/dev/null && continue # built in
		die "module $m not found under $MODROOT"
	fi
	case $f in
	*.ko) cp "$f" "$RD/modules/$m.ko" ;;
	*.ko.xz) xz -dc "$f" >"$RD/modules/$m.ko" ;;
	*.ko.zst) zstd -qdc "$f" >"$RD/modules/$m.ko" ;;
	*.ko.gz) gzip -dc "$f" >"$RD/modules/$m.ko" ;;
	*) die "unknown module file $f" ;;
	esac
done

say "building static test binaries"
(
	cd "$ROOT"
	export CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOAMD64=v1
	go test -c -o "$RD/tests/transport.test" ./comm/transport
	go test -c -o "$RD/tests/comm.test" ./comm
)

cat >"$RD/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin HOME=/tmp TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
for m in ${MODULES[*]}; do
	[ -e /modules/\$m.ko ] || continue
	insmod /modules/\$m.ko || echo "VMTEST insmod \$m failed"
done
ip link set lo up
# Room for the transport's 4 MiB socket buffers (1 MiB SCTP messages).
sysctl -qw net.core.wmem_max=16777216 net.core.rmem_max=16777216
echo "VMTEST kernel \$(uname -r), \$(nproc) cpus"
cd /tmp
echo "VMTEST run transport"
/tests/transport.test -test.v -test.count=1 -test.timeout=10m -test.run '^(TestNew|TestSCTP|TestTCP)\$'
echo "VMTEST rc transport \$?"
echo "VMTEST run comm"
/tests/comm.test -test.v -test.count=1 -test.timeout=10m -test.short -comm.transport=sctp
echo "VMTEST rc comm \$?"
if [ "$BENCH" = 1 ]; then
	echo "VMTEST run bench"
	/tests/transport.test -test.run '^\$' -test.bench '^BenchmarkBandwidth\$' -test.benchtime=300ms -test.count=3 -test.timeout=10m
	echo "VMTEST rc bench \$?"
fi
echo "VMTEST end"
poweroff -f
EOF
chmod +x "$RD/init"
(cd "$RD" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null) | gzip -1 >"$WORK/initrd.gz"
say "initramfs $(du -h "$WORK/initrd.gz" | cut -f1)"

# --- boot -----------------------------------------------------------------

LOG=$WORK/console.log
say "booting (software emulation, deadline ${DEADLINE}s)"
start=$(date +%s)
set +e
timeout -k 10 "$DEADLINE" qemu-system-x86_64 -accel tcg -m 2048 -smp 2 \
	-nographic -no-reboot -monitor none -nic none \
	-kernel "$VMLINUZ" -initrd "$WORK/initrd.gz" \
	-append "console=ttyS0 quiet loglevel=3 panic=-1" </dev/null |
	tr -d '\r' | tee "$LOG"
qrc=${PIPESTATUS[0]}
set -e
took=$(($(date +%s) - start))
say "VM ran ${took}s (qemu exit $qrc)"

# --- verdict --------------------------------------------------------------

((qrc != 124 && qrc != 137)) || die "the VM did not finish within ${DEADLINE}s"
grep -aq '^VMTEST end$' "$LOG" || die "the VM stopped before the tests finished (qemu exit $qrc)"
! grep -aq '^VMTEST insmod' "$LOG" || die "a module did not load: $(grep -a '^VMTEST insmod' "$LOG")"
for pkg in transport comm; do
	grep -aq "^VMTEST rc $pkg 0\$" "$LOG" || die "the $pkg tests failed in the VM"
done
# The sctp tests must have run, not skipped.
if grep -aE -- '--- SKIP: [A-Za-z]*SCTP' "$LOG"; then
	die "sctp tests skipped inside the VM"
fi
for t in TestSCTP TestSCTP/Streams TestSCTP/Boundaries TestSCTP/Transfer64MiB TestSCTP/Handshake TestTCP TestExchangeSCTP; do
	grep -aqE -- "--- PASS: $t \(" "$LOG" || die "no PASS line for $t"
done

if [[ $BENCH == 1 ]]; then
	grep -aq '^VMTEST rc bench 0$' "$LOG" || die "the bandwidth benchmark failed in the VM"
	echo
	echo "Bandwidth inside the VM, one way on 127.0.0.1, same VM run (BenchmarkBandwidth,"
	echo "median of 3; raw = plain TCP socket, tcp and sctp = the transports):"
	awk '
		function median(list,   v, k, n, i, j, x) {
			n = split(list, v, " ")
			for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] + 0 > v[j] + 0; j--) { x = v[j]; v[j] = v[j-1]; v[j-1] = x }
			return n % 2 ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2
		}
		$1 ~ /^BenchmarkBandwidth\// {
			split($1, p, "/"); sub(/-[0-9]+$/, "", p[3])
			for (i = 2; i < NF; i++) if ($(i+1) == "MB/s") mb[p[2] "/" p[3]] = mb[p[2] "/" p[3]] " " $i
			if (!(p[3] in seen)) { seen[p[3]] = 1; order[++n] = p[3] }
		}
		END {
			if (n == 0) { print "no benchmark lines"; exit 1 }
			printf "%8s %10s %10s %10s %10s\n", "size", "raw MB/s", "tcp MB/s", "sctp MB/s", "sctp/tcp"
			for (i = 1; i <= n; i++) {
				s = order[i]
				if (mb["tcp/" s] == "" || mb["sctp/" s] == "") { print "missing tcp or sctp figure for " s; exit 1 }
				t = median(mb["tcp/" s]); c = median(mb["sctp/" s])
				printf "%8s %10.1f %10.1f %10.1f %10.2f\n", s, median(mb["raw/" s]), t, c, c / t
			}
		}' "$LOG" || die "cannot read the benchmark figures"
fi
echo
echo "vmtest: kernel SCTP tests ran and passed inside the VM (${took}s)"
echo "vmtest: $(grep -ac -- '--- PASS:' "$LOG") passed, 0 failed"
