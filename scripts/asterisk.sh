#!/usr/bin/env bash
# Provisions and runs a real Asterisk 22 for kcc's integration tests, on a
# Debian host (as root), without touching the host's own packages: Debian
# bookworm has no asterisk package, so Asterisk lives in a Debian sid root
# made by debootstrap and runs there under chroot.
#
#   scripts/asterisk.sh provision  build the sid root with asterisk 22.* in it
#                                  (reused when it already holds a working
#                                  Asterisk 22; a failed download is retried
#                                  once); prints how long each step took
#   scripts/asterisk.sh start      provision if needed, write the config from
#                                  testdata/asterisk/*.conf, start Asterisk in
#                                  the background and wait until ARI answers;
#                                  does nothing when it already answers
#   scripts/asterisk.sh stop       stop Asterisk and unmount the root's /proc
#   scripts/asterisk.sh status     say whether ARI answers (exit 0) or not (1)
#   scripts/asterisk.sh logdir     print the directory Asterisk logs to (as seen
#                                  from the host): messages.log, queue_log
#
# Parameters (environment, with defaults; KCCTEST_, not KCC_, which is kcc's
# own configuration namespace and refuses names it does not know):
#   KCCTEST_ASTERISK_ROOT          /var/cache/kcc/asterisk-sid  the sid root (cache)
#   KCCTEST_ASTERISK_ARI           127.0.0.1:8088   ARI (HTTP) listen address
#   KCCTEST_ASTERISK_SIP           127.0.0.1:5080   PJSIP UDP listen address
#   KCCTEST_ASTERISK_KCC_IP        127.0.0.1        address kcc's SIP trunk comes
#                                               from (identified by IP)
#   KCCTEST_ASTERISK_KCC_SIP       <KCC_IP>:5060    where Asterisk sends calls to
#                                               kcc (PJSIP/<number>@kcc-trunk)
#   KCCTEST_ASTERISK_ARI_USER      kcc              ARI user (test-only value)
#   KCCTEST_ASTERISK_ARI_PASSWORD  kcc-test         ARI password (test-only value)
#   KCCTEST_ASTERISK_RTP           30000-30999      Asterisk's RTP port range
#   KCCTEST_ASTERISK_QUALIFY       5                qualify_frequency (s) of agents
#   KCCTEST_ASTERISK_START_TIMEOUT 60               seconds to wait for ARI
#   KCCTEST_ASTERISK_MIRROR        http://deb.debian.org/debian
#
# Agents 1001-1004 (password kcc-test-<id>) and the rest of the config are
# described in testdata/asterisk/README.md. Asterisk's own output goes to
# <root>/var/log/asterisk/kcc-console.log, its log to .../messages.log;
# provisioning logs go next to the root (<root>.debootstrap.log,
# <root>.provision.log).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
templates=$(cd "$here/../testdata/asterisk" && pwd)

ROOT=${KCCTEST_ASTERISK_ROOT:-/var/cache/kcc/asterisk-sid}
ARI=${KCCTEST_ASTERISK_ARI:-127.0.0.1:8088}
SIP=${KCCTEST_ASTERISK_SIP:-127.0.0.1:5080}
KCC_IP=${KCCTEST_ASTERISK_KCC_IP:-127.0.0.1}
KCC_SIP=${KCCTEST_ASTERISK_KCC_SIP:-$KCC_IP:5060}
ARI_USER=${KCCTEST_ASTERISK_ARI_USER:-kcc}
ARI_PASSWORD=${KCCTEST_ASTERISK_ARI_PASSWORD:-kcc-test}
RTP=${KCCTEST_ASTERISK_RTP:-30000-30999}
QUALIFY=${KCCTEST_ASTERISK_QUALIFY:-5}
START_TIMEOUT=${KCCTEST_ASTERISK_START_TIMEOUT:-60}
MIRROR=${KCCTEST_ASTERISK_MIRROR:-http://deb.debian.org/debian}

log() { echo "asterisk.sh: $*" >&2; }
die() { log "$*"; exit 1; }
# fail_provision is the one message callers (and CI logs) can grep for.
fail_provision() { echo "cannot provision Asterisk: $*" >&2; exit 1; }

# timed NAME CMD... runs CMD and prints how long it took.
timed() {
	local name=$1 start=$SECONDS rc=0
	shift
	"$@" || rc=$?
	log "$name: $((SECONDS - start)) s$( ((rc == 0)) || echo " (failed, exit $rc)")"
	return "$rc"
}

# retry_once DESC CMD... runs CMD and, if it fails, once more: mirrors
# occasionally drop a connection, and one retry separates that from a real
# failure without hiding it.
retry_once() {
	local desc=$1
	shift
	if "$@"; then return 0; fi
	log "$desc failed; retrying once"
	sleep 2
	"$@"
}

check_env() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot and mount need it)"
	case $ROOT in /*) ;; *) die "KCCTEST_ASTERISK_ROOT must be an absolute path, got '$ROOT'" ;; esac
	case $ROOT in / | /bin* | /boot* | /dev* | /etc* | /lib* | /proc* | /sbin* | /sys* | /usr* | /run*)
		die "refusing KCCTEST_ASTERISK_ROOT=$ROOT (a system directory)" ;;
	esac
	ROOT=${ROOT%/}
	split_hostport "$ARI" ARI_HOST ARI_PORT KCCTEST_ASTERISK_ARI
	split_hostport "$SIP" SIP_HOST SIP_PORT KCCTEST_ASTERISK_SIP
	split_hostport "$KCC_SIP" KCC_SIP_HOST KCC_SIP_PORT KCCTEST_ASTERISK_KCC_SIP
	is_ipv4 "$KCC_IP" || die "KCCTEST_ASTERISK_KCC_IP must be an IPv4 address, got '$KCC_IP'"
	[[ $ARI_USER =~ ^[A-Za-z0-9_.-]+$ ]] || die "KCCTEST_ASTERISK_ARI_USER may hold only [A-Za-z0-9_.-]"
	[[ $ARI_PASSWORD =~ ^[A-Za-z0-9_.-]+$ ]] || die "KCCTEST_ASTERISK_ARI_PASSWORD may hold only [A-Za-z0-9_.-]"
	[[ $RTP =~ ^([0-9]+)-([0-9]+)$ ]] || die "KCCTEST_ASTERISK_RTP must be START-END, got '$RTP'"
	RTP_START=${BASH_REMATCH[1]} RTP_END=${BASH_REMATCH[2]}
	((RTP_START < RTP_END && RTP_END < 65536)) || die "KCCTEST_ASTERISK_RTP out of range: $RTP"
	[[ $QUALIFY =~ ^[0-9]+$ ]] || die "KCCTEST_ASTERISK_QUALIFY must be whole seconds, got '$QUALIFY'"
	[[ $START_TIMEOUT =~ ^[0-9]+$ ]] || die "KCCTEST_ASTERISK_START_TIMEOUT must be whole seconds"
}

is_ipv4() { [[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; }

# split_hostport VALUE HOSTVAR PORTVAR NAME checks an IPv4:port value (the
# values go into config files, so nothing else is let through).
split_hostport() {
	local v=$1 h p
	[[ $v =~ ^([0-9.]+):([0-9]+)$ ]] || die "$4 must be IPv4:port, got '$v'"
	h=${BASH_REMATCH[1]} p=${BASH_REMATCH[2]}
	is_ipv4 "$h" && ((10#$p > 0 && 10#$p < 65536)) || die "$4 must be IPv4:port, got '$v'"
	printf -v "$2" %s "$h"
	printf -v "$3" %s "$((10#$p))"
}

# lock serialises provision/start/stop of one root: parallel test binaries
# may all call start.
lock() {
	mkdir -p "$(dirname "$ROOT")"
	exec 9>"$ROOT.lock"
	flock -w 300 9 || die "another asterisk.sh holds $ROOT.lock for over 300 s"
}

# asterisk_ok says whether the root holds an Asterisk 22 binary that runs.
asterisk_ok() {
	[ -x "$ROOT/usr/sbin/asterisk" ] || return 1
	local v
	v=$(chroot "$ROOT" /usr/sbin/asterisk -V 2>/dev/null) || return 1
	[[ $v =~ ^Asterisk\ 22\. ]]
}

mounts_under() { awk -v r="$1" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts; }

# remove_tree deletes a (partial) root, never while something is mounted in it.
remove_tree() {
	local dir=$1
	[ -e "$dir" ] || return 0
	local m
	for m in $(mounts_under "$dir" | sort -r); do umount "$m" || umount -l "$m"; done
	[ -z "$(mounts_under "$dir")" ] || die "still mounted under $dir; not removing it"
	rm -rf --one-file-system "$dir"
}

# quietly CMD... runs CMD with its output in $ROOT.provision.log, shown
# (the end of it) only when CMD fails.
quietly() {
	local rc=0
	echo "+ $*" >>"$ROOT.provision.log"
	"$@" >>"$ROOT.provision.log" 2>&1 || rc=$?
	if ((rc != 0)); then tail -n 20 "$ROOT.provision.log" >&2; fi
	return "$rc"
}

chroot_apt() {
	quietly chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get -q \
		-o Acquire::Check-Valid-Until=false -o APT::Install-Recommends=false "$@"
}

debootstrap_base() {
	local tmp="$ROOT.partial"
	remove_tree "$tmp"
	debootstrap --variant=minbase sid "$tmp" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 || {
		tail -n 20 "$ROOT.debootstrap.log" >&2
		remove_tree "$tmp"
		return 1
	}
}

provision() {
	local total=$SECONDS
	if asterisk_ok; then
		# A root made by hand (DESIGN.md §6) has no pristine copy yet.
		[ -d "$ROOT/etc/asterisk.debian" ] || cp -a "$ROOT/etc/asterisk" "$ROOT/etc/asterisk.debian"
		log "reusing $ROOT ($(chroot "$ROOT" /usr/sbin/asterisk -V))"
		return 0
	fi
	if ! command -v debootstrap >/dev/null; then
		timed "install debootstrap" retry_once "apt-get install debootstrap" \
			quietly sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap' ||
			fail_provision "could not install debootstrap from the host's package mirrors"
	fi
	asterisk_stopped_or_die
	if [ ! -f "$ROOT/.kcc-base-ok" ]; then
		# A root without the marker is a half-made one: start over.
		remove_tree "$ROOT"
		log "debootstrap --variant=minbase sid (log: $ROOT.debootstrap.log)"
		timed "debootstrap" retry_once debootstrap "debootstrap_base" ||
			fail_provision "debootstrap of Debian sid from $MIRROR failed twice (see $ROOT.debootstrap.log)"
		mv "$ROOT.partial" "$ROOT"
		touch "$ROOT/.kcc-base-ok"
	fi
	# Package scripts must not try to start services inside the root.
	printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
	chmod 755 "$ROOT/usr/sbin/policy-rc.d"
	timed "apt-get update" retry_once "apt-get update" chroot_apt update ||
		fail_provision "apt-get update in the sid root failed twice"
	local ver
	ver=$(chroot "$ROOT" apt-cache madison asterisk | awk -F' *[|] *' '$2 ~ /^([0-9]+:)?22\./ { print $2; exit }')
	if [ -z "$ver" ]; then
		local have
		have=$(chroot "$ROOT" apt-cache madison asterisk | awk -F' *[|] *' '{ printf "%s ", $2 }')
		fail_provision "Debian sid offers no asterisk 22.* (it has: ${have:-no asterisk package at all})"
	fi
	# Keep any later apt-get in the root on 22 (sid moves on).
	printf 'Package: asterisk*\nPin: version %s\nPin-Priority: 1001\n' "${ver%%.*}.*" \
		>"$ROOT/etc/apt/preferences.d/kcc-asterisk"
	log "installing asterisk=$ver"
	timed "apt-get install asterisk" retry_once "apt-get install" chroot_apt install -y "asterisk=$ver" ||
		fail_provision "apt-get install asterisk=$ver failed twice"
	chroot_apt clean
	# Keep Debian's pristine config: start builds etc/asterisk afresh from it.
	if [ ! -d "$ROOT/etc/asterisk.debian" ]; then cp -a "$ROOT/etc/asterisk" "$ROOT/etc/asterisk.debian"; fi
	asterisk_ok || fail_provision "asterisk $ver installed but '$ROOT/usr/sbin/asterisk -V' does not report 22.*"
	log "provisioned $(chroot "$ROOT" /usr/sbin/asterisk -V) in $ROOT in $((SECONDS - total)) s"
}

# pids_in_root prints the processes whose root directory is ours: exactly the
# Asterisk we started (and its helpers), nothing else on the host.
pids_in_root() {
	local real p
	real=$(readlink -f "$ROOT")
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$real" ] && echo "${p#/proc/}"
	done
	return 0
}

asterisk_stopped_or_die() {
	[ -z "$(pids_in_root)" ] || die "Asterisk is running in $ROOT; run '$0 stop' first"
}

ari_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 -u "$ARI_USER:$ARI_PASSWORD" \
		"http://$ARI/ari/asterisk/info" 2>/dev/null || true
}

render() { # render TEMPLATE DEST
	sed -e "s|@ARI_HOST@|$ARI_HOST|g; s|@ARI_PORT@|$ARI_PORT|g" \
		-e "s|@ARI_USER@|$ARI_USER|g; s|@ARI_PASSWORD@|$ARI_PASSWORD|g" \
		-e "s|@SIP_HOST@|$SIP_HOST|g; s|@SIP_PORT@|$SIP_PORT|g" \
		-e "s|@KCC_IP@|$KCC_IP|g; s|@KCC_SIP_HOST@|$KCC_SIP_HOST|g; s|@KCC_SIP_PORT@|$KCC_SIP_PORT|g" \
		-e "s|@RTP_START@|$RTP_START|g; s|@RTP_END@|$RTP_END|g; s|@QUALIFY@|$QUALIFY|g" \
		"$1" >"$2"
	if grep -n '@[A-Z_]*@' "$2" >&2; then die "unsubstituted variable in $1"; fi
}

write_config() {
	local etc="$ROOT/etc/asterisk" t
	rm -rf "$etc"
	mkdir -p "$etc"
	# From Debian's config only the files that hold its directory layout
	# (asterisk.conf) or sane defaults (tones, features, ...) and define no
	# endpoint, port or dialplan; everything else is ours.
	for t in asterisk indications features ccss acl udptl pjproject res_http_media_cache \
		websocket_client chan_websocket; do
		cp "$ROOT/etc/asterisk.debian/$t.conf" "$etc/"
	done
	for t in "$templates"/*.conf; do render "$t" "$etc/$(basename "$t")"; done
	# Without the host name in /etc/hosts Asterisk resolves it through DNS,
	# which is unreachable here, and stalls start-up and every new call.
	printf '127.0.0.1 localhost %s\n::1 localhost ip6-localhost ip6-loopback\n' "$(hostname)" >"$ROOT/etc/hosts"
	mkdir -p "$ROOT/var/spool/asterisk/recording" "$ROOT/run/asterisk" "$ROOT/var/log/asterisk"
	# Debian's package makes these the asterisk user's; we run as root.
	chown -R root:root "$etc" "$ROOT"/var/{lib,log,spool}/asterisk "$ROOT/run/asterisk"
}

# stale_config names the templates that render differently from the config
# the running Asterisk was started with: start does not touch a running
# Asterisk, so a template edited since then takes effect only after stop.
stale_config() {
	local t out= tmp
	tmp=$(mktemp)
	for t in "$templates"/*.conf; do
		render "$t" "$tmp"
		cmp -s "$tmp" "$ROOT/etc/asterisk/$(basename "$t")" || out+=" $(basename "$t")"
	done
	rm -f "$tmp"
	echo "${out# }"
}

start() {
	if [ "$(ari_code)" = 200 ]; then
		log "already running: ARI answers at http://$ARI/ari"
		local stale
		stale=$(stale_config)
		[ -z "$stale" ] || log "warning: running with an older config ($stale changed); '$0 stop && $0 start' applies it"
		return 0
	fi
	provision
	if [ -n "$(pids_in_root)" ]; then
		log "Asterisk is running in $ROOT but ARI does not answer yet; waiting"
	else
		write_config
		mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
		local console="$ROOT/var/log/asterisk/kcc-console.log"
		: >"$console"
		# setsid: a test runner's Ctrl-C or job teardown must not kill the
		# shared Asterisk; stop does that.
		setsid chroot "$ROOT" /usr/sbin/asterisk -f -n </dev/null >>"$console" 2>&1 9>&- &
		log "started Asterisk (pid $!), waiting for ARI at http://$ARI/ari"
	fi
	local begin=$SECONDS t0=${EPOCHREALTIME/[.,]/} code=
	while ((SECONDS - begin < START_TIMEOUT)); do
		code=$(ari_code)
		if [ "$code" = 200 ]; then
			# HTTP comes up before every module has loaded; tests want the
			# endpoints too.
			timeout 20 chroot "$ROOT" /usr/sbin/asterisk -rx "core waitfullybooted" >/dev/null 2>&1 ||
				log "warning: 'core waitfullybooted' did not confirm start-up"
			local ms=$(((${EPOCHREALTIME/[.,]/} - t0) / 1000))
			log "ARI answers after $ms ms: http://$ARI/ari (user $ARI_USER), PJSIP udp:$SIP"
			return 0
		fi
		if [ -z "$(pids_in_root)" ]; then
			tail -n 30 "$ROOT/var/log/asterisk/kcc-console.log" >&2 || true
			die "Asterisk exited during start-up (console log above)"
		fi
		sleep 0.1
	done
	tail -n 30 "$ROOT/var/log/asterisk/kcc-console.log" >&2 || true
	stop
	die "ARI did not answer 200 within $START_TIMEOUT s (last HTTP code '${code:-none}'); Asterisk stopped"
}

stop() {
	local pids begin
	pids=$(pids_in_root)
	if [ -n "$pids" ]; then
		timeout 10 chroot "$ROOT" /usr/sbin/asterisk -rx "core stop now" >/dev/null 2>&1 || true
		begin=$SECONDS
		while [ -n "$(pids_in_root)" ] && ((SECONDS - begin < 10)); do sleep 0.2; done
		pids=$(pids_in_root)
		if [ -n "$pids" ]; then
			log "Asterisk did not stop by itself; sending SIGTERM to $pids"
			kill $pids 2>/dev/null || true
			begin=$SECONDS
			while [ -n "$(pids_in_root)" ] && ((SECONDS - begin < 5)); do sleep 0.2; done
			pids=$(pids_in_root)
			if [ -n "$pids" ]; then
				kill -9 $pids 2>/dev/null || true
				sleep 0.5
			fi
		fi
		log "stopped Asterisk in $ROOT"
	else
		log "Asterisk is not running in $ROOT"
	fi
	if mountpoint -q "$ROOT/proc" 2>/dev/null; then umount "$ROOT/proc" || umount -l "$ROOT/proc"; fi
}

status() {
	local code
	code=$(ari_code)
	if [ "$code" = 200 ]; then
		echo "ARI answers at http://$ARI/ari (user $ARI_USER)"
		return 0
	fi
	echo "ARI does not answer at http://$ARI/ari (HTTP code '${code:-none}')"
	return 1
}

main() {
	local cmd=${1:-}
	case $cmd in
	provision | start | stop | status | logdir) ;;
	*) die "usage: $0 provision|start|stop|status|logdir" ;;
	esac
	check_env
	case $cmd in
	status) status ;;
	logdir) echo "$ROOT/var/log/asterisk" ;;
	*) lock && "$cmd" ;;
	esac
}

main "$@"
