#!/bin/sh
# make fresh: the README's first screen, tried as a new user would.
#
# A minimal Debian 12 root is made with debootstrap (--variant=minbase, plus
# git, ca-certificates and sudo) from this machine's configured Debian
# mirror; the repository's committed HEAD is cloned into it; inside it, as
# root and with a bare environment, the README's preparation line and its
# two commands run as written.  It prints what each command installed, the
# test counts and the times, and exits non-zero if anything failed.
#
# It needs root, debootstrap (installed when missing) and the right to make
# mount and PID namespaces; where those cannot be had it says so and exits
# 0 without testing anything, so that CI on a restricted machine still runs
# the rest.  FRESH_DIR (default build/fresh) holds the root; FRESH_KEEP=1
# keeps it afterwards.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${FRESH_DIR:-$repo/build/fresh}
suite=bookworm

say() { printf 'fresh: %s\n' "$*"; }
skip() { say "skipped: $*"; exit 0; }

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, chroot and mounts); run it as root"
command -v unshare >/dev/null 2>&1 || skip "unshare(1) is missing"
unshare --mount --pid --fork true 2>/dev/null ||
	skip "this machine does not allow mount and PID namespaces"
if ! command -v debootstrap >/dev/null 2>&1; then
	say "installing debootstrap"
	if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
		apt-get update -qq
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap </dev/null >/dev/null 2>&1
fi

# The first Debian mirror this machine's apt is configured with.
mirror=
for f in /etc/apt/sources.list.d/*.sources; do
	[ -r "$f" ] || continue
	mirror=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /debian\/?$/) { print $i; exit } }' "$f")
	[ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
	mirror=$(awk '$1 == "deb" && $2 ~ /debian\/?$/ { print $2; exit }' /etc/apt/sources.list)
fi
mirror=${mirror:-http://deb.debian.org/debian}

root=$dir/root
cleanup() {
	[ "${FRESH_KEEP:-}" = 1 ] || rm -rf "$root"
}
rm -rf "$root"
mkdir -p "$dir"
trap cleanup EXIT

start=$(date +%s)
say "debootstrap --variant=minbase $suite from $mirror"
if ! debootstrap --variant=minbase --include=git,ca-certificates,sudo \
	"$suite" "$root" "$mirror" >"$dir/debootstrap.log" 2>&1; then
	tail -n 20 "$dir/debootstrap.log" >&2
	say "debootstrap failed (its log: $dir/debootstrap.log)"
	exit 1
fi
say "base root ready in $(($(date +%s) - start)) s: $(chroot "$root" dpkg-query -W -f='.\n' | wc -l) packages"

git clone --quiet "$repo" "$root/root/wf"
# CI has the shared plans beside the clone; the suite compares against them.
[ -d "$repo/../shared" ] && cp -r "$repo/../shared" "$root/root/shared"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# What runs inside: the README's preparation line, then its two commands.
cat >"$root/root/fresh-inside.sh" <<'INSIDE'
set -u
count() { dpkg-query -W -f='${Status}\n' | grep -c 'ok installed'; }
step() {
	name=$1; shift
	before=$(count); t0=$(date +%s)
	echo "fresh: \$ $*"
	"$@" >"/root/$name.log" 2>&1
	rc=$?
	echo "fresh: $name: exit $rc in $(($(date +%s) - t0)) s, $(($(count) - before)) packages installed"
	return $rc
}
cd /root/wf
step prepare sh -c 'apt-get update && apt-get install -y make git' || exit 1
step demo make demo || { tail -n 30 /root/demo.log; exit 1; }
tail -n 12 /root/demo.log | sed 's/^/fresh:   | /'
step check make check
rc=$?
echo "fresh: check: $(grep -c '^ok ' /root/check.log) passed, $(grep -c '^not ok ' /root/check.log) failed"
if [ $rc != 0 ]; then
	grep -A 12 '^not ok ' /root/check.log | head -n 80
	exit 1
fi
INSIDE

# A private mount namespace (everything mounted here goes away with it)
# and a PID namespace, so the suite's process checks see only its own.
set +e
unshare --mount --pid --fork --propagation private sh -c '
	set -e
	root=$1
	mount -t proc proc "$root/proc"
	mount -t sysfs sys "$root/sys"
	mount --rbind /dev "$root/dev"
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
	mount --bind "$root/dev/pts/ptmx" "$root/dev/ptmx"
	mount -t tmpfs tmpfs "$root/dev/shm"
	mount -t tmpfs tmpfs "$root/tmp"
	exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/sh /root/fresh-inside.sh
' fresh "$root" </dev/null
rc=$?
set -e
cp "$root"/root/*.log "$dir"/ 2>/dev/null || true
say "logs kept in $dir"
if [ $rc = 0 ]; then
	say "passed in $(($(date +%s) - start)) s"
else
	say "FAILED (exit $rc) after $(($(date +%s) - start)) s"
fi
exit $rc
