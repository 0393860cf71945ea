#!/bin/bash
# The exposure subsystem's Tor and mDNS channels with the real components
# (docs/expose.md, "Tor" and "mDNS"; issue #13), two hosts over wireguard-go:
#
#   host 1  root   mirrornetd (role master): sees host 2's expose records
#   host 2  lab    mirrornetd with expose_tor tor, expose_tor_network no (tor's
#                  DisableNetwork 1: it makes keys and names, connects nowhere)
#                  and expose_mdns_dir = a private services directory;
#                  avahi-daemon (enable-dbus=no) in a mount namespace of its
#                  own where that directory is /etc/avahi/services, on 192.168.242.2
#
# Checked: `mirrornetctl expose add git --channels mesh,tor,mdns` on host 2
# starts the daemon's own tor, which writes the hidden service's hostname;
# the .onion name is in the record at host 2 and at host 1 (expose list
# --json; the times are printed) and is the one in tor's hostname file; the
# torrc passes `tor --verify-config`, the key directories are 0700; a second
# exposure reloads the same tor (SIGHUP, same pid) and gets its own name;
# avahi answers a unicast `dig -p 5353` from host 1 for the exposure
# (_http._tcp) and for the node (_secubox._udp, TXT did/role/version, SRV on
# the WireGuard port); status shows each channel. Removing the tor channel
# takes the name out of the record on both hosts and the service out of the
# torrc, removing the last one stops tor (its keys stay: the same name comes
# back), removing the mdns channel takes the service off mDNS, and `expose
# remove` takes the record off both hosts. Needs root, wireguard-go, tor,
# avahi-daemon, dig, jq; skips otherwise.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd wireguard-go tor avahi-daemon dig jq unshare
: "${MN_BUILD:?}"
tmpdir mn-expose-chan
chmod 755 "$T"
H=$T/h2
ADDR=$NS_UNDERLAY.2
NODE=host2

ns_init 2 || fatal "namespaces"
ns_mn_keys 2 || fatal "keys"
for i in 1 2; do ns_wg_up "$i" || fatal "wireguard-go in host $i"; done
mkdir -p "$H/avahi"
# the tor host 2's daemon starts (daemonised, in the namespace): stopped by
# its pid file, if that names a tor, before the namespaces go
stop_tor() {
	local pid
	pid=$(cat "$H/expose/tor/tor.pid" 2>/dev/null) || return 0
	grep -q '^[0-9]* (tor) ' "/proc/$pid/stat" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
	true
}
at_exit stop_tor

ns_mn_star 1 2 >"$T/h1/mirrornetd.conf"
echo "expose_dir $T/h1/expose" >>"$T/h1/mirrornetd.conf"
{
	ns_mn_star 2 2
	printf '%s\n' "expose_dir $H/expose" "expose_tor tor" "expose_tor_dir $H/tor" "expose_tor_network no" \
		"expose_mdns_dir $H/avahi"
} >"$H/mirrornetd.conf"
for i in 1 2; do
	ns_mn_start "$i" || fatal "config or start of host $i"
	watch_pid "$SPAWNED" "the daemon of host $i" "$T/h$i/log"
done
both_alive() { alive_ge 1 1 && alive_ge 2 1; }
wait_for 60 "the two daemons see each other alive" both_alive || fatal "the mesh"

# avahi: its services directory is compiled in, so a private one is mounted
# there; its runtime directory (pid file, socket) is in a /run of its own
cat >"$T/avahi.conf" <<EOF
[server]
use-ipv4=yes
use-ipv6=no
allow-interfaces=u2
enable-dbus=no
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
EOF
ns_bg 2 "$T/avahi.log" unshare -m sh -c "mount --make-rprivate / && mount --bind '$H/avahi' /etc/avahi/services &&
	mount -t tmpfs -o mode=755 avahi-run /run && mkdir /run/avahi-daemon &&
	exec avahi-daemon -f '$T/avahi.conf' --no-drop-root --no-chroot --no-rlimits"
watch_pid "$SPAWNED" "avahi-daemon" "$T/avahi.log"
wait_for 20 "avahi-daemon is up in host 2" grep -q "Server startup complete" "$T/avahi.log"

# a unicast mDNS query from host 1 to host 2's responder
mdns() { ns_exec 1 dig +short +time=1 +tries=1 -p 5353 "@$ADDR" "$@"; }
# onion_at I SVC: the onion of host 2's SVC in host I's copy of the record
rec_at() { on "$1" expose list --json | jq -c --arg s "$2" '.mesh[] | select(.service == $s)'; }
onion_at() { rec_at "$1" "$2" | jq -r '.onion // empty'; }
has_onion() { onion_at "$1" "$2" | grep -Eq '^[a-z2-7]{56}\.onion$'; }
no_onion() { [ -n "$(rec_at "$1" "$2")" ] && [ -z "$(onion_at "$1" "$2")" ]; }
no_rec() { [ -z "$(rec_at "$1" "$2")" ]; }
both() { local f=$1; shift; "$f" 1 "$@" && "$f" 2 "$@"; }
st() { on 2 status --json | jq -r ".expose.$1 // empty"; }

# ---- Tor ----
t0=$(_t_us)
on 2 expose add git --port 3000 --channels mesh,tor,mdns >"$OUT" 2>&1 &&
	ok "host 2: expose add git --channels mesh,tor,mdns: $(cat "$OUT")" || { bad "expose add"; _t_show "$OUT"; }
if poll 30 has_onion 2 git; then
	t1=$(_t_us)
	ok "expose add -> the .onion name in host 2's record: $(((t1 - t0) / 1000)) ms ($(onion_at 2 git))"
else
	bad "no .onion name in git's record within 30 s"; on 2 status --json | jq .expose.tor; tail -5 "$H/expose/tor/tor.log"
fi
if poll 30 has_onion 1 git; then
	t2=$(_t_us)
	ok "expose add -> the .onion name in the record at host 1: $(((t2 - t0) / 1000)) ms"
else
	bad "host 1 has no .onion name for git within 30 s: $(rec_at 1 git)"
fi
[ "$(onion_at 1 git)" = "$(cat "$H/tor/git/hostname" 2>/dev/null)" ] &&
	ok "the name at host 1 is the one in tor's hostname file on host 2" ||
	bad "host 1 $(onion_at 1 git), hostname $(cat "$H/tor/git/hostname" 2>&1)"
on 1 expose list >"$OUT" 2>&1
has "host 1's expose list shows it under git's row" "^ +tor $(onion_at 1 git)\$"
PID=$(st tor.pid)
[ -n "$PID" ] && grep -q "^$PID (tor) " "/proc/$PID/stat" && [ "$(st tor.running)" = true ] &&
	[ "$(st tor.onions)" = 1 ] && ok "the daemon's own tor runs (pid $PID; status .expose.tor: 1 onion)" ||
	bad "tor: $(on 2 status --json | jq -c .expose.tor)"
grep -q "^HiddenServiceDir $H/tor/git$" "$H/expose/tor/torrc" && grep -q "^HiddenServicePort 80 127.0.0.1:3000$" \
	"$H/expose/tor/torrc" && grep -q "^DisableNetwork 1$" "$H/expose/tor/torrc" && grep -q "^SocksPort 0$" \
	"$H/expose/tor/torrc" && ok "torrc: git's hidden service, port 80 to its local backend, no network, no SOCKS" ||
	bad "torrc: $(cat "$H/expose/tor/torrc")"
check "the live torrc passes tor --verify-config" tor --verify-config -f "$H/expose/tor/torrc" --defaults-torrc /dev/null
[ "$(stat -c %a "$H/tor")" = 700 ] && [ "$(stat -c %a "$H/tor/git")" = 700 ] &&
	ok "key directories are 0700" || bad "key directory modes $(stat -c %a "$H/tor" "$H/tor/git")"

on 2 expose add vault --port 8200 --proto tls --channels tor >/dev/null || bad "expose add vault"
wait_for 30 "a second hidden service gets its own name, at host 1 too" both has_onion vault
[ "$(st tor.pid)" = "$PID" ] && [ "$(st tor.reloads)" -ge 1 ] && [ "$(onion_at 1 git)" != "$(onion_at 1 vault)" ] &&
	grep -q "^HiddenServicePort 443 127.0.0.1:8200$" "$H/expose/tor/torrc" &&
	ok "the same tor reloaded (SIGHUP, pid $PID): $(onion_at 1 vault) on port 443" ||
	bad "reload: $(on 2 status --json | jq -c .expose.tor)"

# ---- mDNS ----
git_on_mdns() { mdns _http._tcp.local PTR | grep -q "^git\\\\032on\\\\032$NODE\._http\._tcp\.local\.$"; }
wait_for 20 "avahi on host 2 answers host 1 for git (_http._tcp): \"git on $NODE\"" git_on_mdns
mdns _secubox._udp.local PTR >"$OUT"
has "avahi answers for the node (_secubox._udp)" "^$NODE\._secubox\._udp\.local\.$"
mdns "$NODE._secubox._udp.local" TXT >"$OUT"
has "the node's TXT: its did" "\"did=$(ns_mn_id 2 did)\""
has "the node's TXT: its role" '"role=peer"'
has "the node's TXT: its version" '"version=[0-9]+\.[0-9]+'
mdns "$NODE._secubox._udp.local" SRV >"$OUT"
has "the node's SRV: the WireGuard port" '^0 0 51820 '
mdns "git\\032on\\032$NODE._http._tcp.local" SRV >"$OUT"
has "git's SRV: its port" '^0 0 3000 '
[ "$(st mdns.entries)" = 2 ] && [ "$(st mdns.refused)" = 0 ] && [ -z "$(st mdns.last_error)" ] &&
	ok "status .expose.mdns: 2 entries (the node, git), nothing refused" ||
	bad "mdns status: $(on 2 status --json | jq -c .expose.mdns)"
wait_for 10 "avahi loaded mirrornet-git.service by itself (no reload command)" \
	grep -q "Service \"git on $NODE\" .* successfully established" "$T/avahi.log"

# ---- removal ----
on 2 expose remove git --channel tor >/dev/null || bad "expose remove git --channel tor"
no_onion 2 git && ok "the tor channel removed: the name leaves git's record at host 2 at once" ||
	bad "git's record: $(rec_at 2 git)"
wait_for 30 "... and at host 1" no_onion 1 git
wait_for 20 "git leaves the torrc" sh -c "! grep -q '/git$' '$H/expose/tor/torrc'"
[ -f "$H/tor/git/hostname" ] && ok "git's keys stay on disk (the same name if it comes back)" || bad "git's keys are gone"
on 2 expose remove vault >/dev/null || bad "expose remove vault"
wait_for 30 "vault's record leaves both hosts" both no_rec vault
tor_gone() { [ -z "$(st tor.pid)" ] && ! grep -q "^$PID (tor) " "/proc/$PID/stat" 2>/dev/null; }
wait_for 20 "the last hidden service gone: tor stopped" tor_gone
[ ! -e "$H/expose/tor/torrc" ] && [ "$(st tor.services)" = 0 ] && ok "no torrc, no service left" ||
	bad "after the last one: $(on 2 status --json | jq -c .expose.tor)"
on 2 expose remove git >/dev/null || bad "expose remove git"
on 2 expose add git --port 3000 --channels mesh,tor,mdns >/dev/null && poll 30 both has_onion git &&
	[ "$(onion_at 1 git)" = "$(cat "$H/tor/git/hostname")" ] &&
	ok "git's tor channel back: the same name at host 1, tor started again" || bad "git back on tor: $(rec_at 1 git)"
on 2 expose remove git --channel mdns >/dev/null || bad "expose remove git --channel mdns"
git_off_mdns() { ! mdns _http._tcp.local PTR | grep -q 'git'; }
wait_for 20 "the mdns channel removed: avahi no longer announces git" git_off_mdns
[ ! -e "$H/avahi/mirrornet-git.service" ] && [ -e "$H/avahi/mirrornet.service" ] &&
	ok "its file gone, the node's stays" || bad "the services directory: $(ls "$H/avahi")"
on 2 expose remove git >/dev/null || bad "expose remove git"
wait_for 30 "expose remove: git's record (and its name) leave both hosts" both no_rec git
tor_off() { [ -z "$(st tor.pid)" ] && [ "$(st tor.running)" != true ] && [ ! -e "$H/expose/tor/torrc" ]; }
wait_for 20 "... and tor stops again" tor_off
finish
