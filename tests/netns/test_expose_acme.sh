#!/bin/bash
# Certificates by ACME for the CDN (docs/expose.md "Certificates by ACME",
# issue #13), with a real ACME server (Pebble) and lego, over WireGuard in
# network namespaces:
#
#   host 1  root     any scope             public entry 192.168.242.1 (80, 443);
#                                          dnsmasq on :5353, Pebble's resolver: every
#                                          name under example.io is the root's public
#                                          address, _acme-challenge.lab.node1.example.io
#                                          is asked of the leaf (DNS-01)
#   host 2  node1    node1.example.io      sub-master
#   host 3  lab      lab.node1.example.io  leaf behind NAT: the service, lego (run by
#                                          the daemon), Knot for its zone (Vortex DNS,
#                                          a private /run/knot)
#   host 4  WAN      Pebble (ACME on 192.168.242.4:14000, management on 127.0.0.1:15000)
#                    and the client (curl)
#
# HTTP-01: `expose add` on the leaf; the leaf's daemon runs lego, Pebble
# fetches http://NAME/.well-known/acme-challenge/TOKEN from the root's public
# address, the request goes root -> node1 -> lab (Host routing, PROXY v2) to
# lego's answerer on the leaf (only the leaf lists the name in acme.lst, and
# lego logs each request it answered); the certificate lands in
# expose_cert_dir (0600), the leaf's HAProxy ends TLS with it; from the WAN,
# https://NAME/ through the root verifies against Pebble's root (from its
# management API) and reaches the leaf's backend. Status: valid, notAfter
# as openssl reads it. A restart reads the certificate back as valid and
# orders nothing; an order against an unreachable ACME server fails, is
# counted with lego's error line in status and retried later (backoff),
# while the name keeps its certificate and answers.
#
# DNS-01: Vortex DNS on the leaf (dns_acme_key) writes the zone
# _acme-challenge.lab.node1.example.io (a zone of its own: the leaf's zone
# file is regenerated from records and reloaded whole, the ACME zone's file
# never changes), a TSIG key (0600, in a file knot.conf includes) and the
# ACL: knotc conf-check passes; the key cannot update the leaf's zone nor
# another owner. With expose_acme_challenge dns the daemon gets
# lab.node1.example.io + *.lab.node1.example.io from Pebble (TXT added by
# lego over RFC 2136, Pebble asking the leaf's Knot through its resolver);
# a second name under the zone answers HTTPS with the wildcard without a
# new order; the TXT survives a regeneration of the leaf's zone; the TSIG
# secret is in no log.
#
# Pebble validates for real (no PEBBLE_VA_ALWAYS_VALID; PEBBLE_VA_NOSLEEP=1
# only skips its random wait). Needs root, wireguard-go, haproxy, pebble,
# lego, dnsmasq, curl, openssl, python3, jq; skips otherwise.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd wireguard-go haproxy pebble lego dnsmasq knotd knotc kdig knsupdate curl openssl python3 jq nft
: "${MN_BUILD:?}"
tmpdir mn-acme
chmod 755 "$T"
K=4
NAME=git.lab.node1.example.io
ZONE=lab.node1.example.io
U=$NS_UNDERLAY
ACME=https://$U.4:14000/dir

ns_init $K || fatal "namespaces"
ns_nat 3 || fatal "NAT router for the leaf"
ns_mn_keys 3 || fatal "keys"
# the root's own certificate gives the mesh its domain (Vortex DNS needs one)
need ns_mn_issue 1 1 master 0 example.io
need ns_mn_issue 1 2 sub-master 1 node1.example.io
need ns_mn_issue 2 3 peer 2 $ZONE
cp "$T/h2/node.cert" "$T/h3/parent.cert"
for i in 1 2 3; do ns_wg_up "$i" || fatal "wireguard-go in host $i"; done

# ---- Pebble in the WAN, with a TLS certificate of the test's CA ----
mkdir -p "$T/pebble"
need openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=test-ca -days 2 \
	-keyout "$T/ca.key" -out "$T/ca.pem" 2>/dev/null
need openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=pebble \
	-keyout "$T/pebble/key.pem" -out "$T/pebble/csr.pem" 2>/dev/null
printf 'subjectAltName=IP:%s,IP:127.0.0.1,DNS:localhost\n' "$U.4" >"$T/pebble/san.ext"
need openssl x509 -req -in "$T/pebble/csr.pem" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
	-days 2 -extfile "$T/pebble/san.ext" -out "$T/pebble/cert.pem" 2>/dev/null
cat >"$T/pebble/config.json" <<EOF
{ "pebble": { "listenAddress": "$U.4:14000", "managementListenAddress": "127.0.0.1:15000",
  "certificate": "$T/pebble/cert.pem", "privateKey": "$T/pebble/key.pem",
  "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": false } }
EOF

# Pebble's resolver, in the root: names under example.io at the root's public
# address; the leaf's ACME zone asked of the leaf's Knot (over the mesh)
ns_bg 1 "$T/dnsmasq.log" dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null \
	--port=5353 --listen-address="$U.1" --bind-interfaces --log-facility=- --pid-file= \
	--cache-size=0 --address=/example.io/"$U.1" --server=/_acme-challenge.$ZONE/10.42.0.3
watch_pid "$SPAWNED" "dnsmasq (Pebble's resolver)" "$T/dnsmasq.log"
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 ns_bg 4 "$T/pebble.log" \
	pebble -config "$T/pebble/config.json" -dnsserver "$U.1:5353"
watch_pid "$SPAWNED" "pebble" "$T/pebble.log"
pebble_up() { ns_exec 4 curl -sS --max-time 2 --cacert "$T/ca.pem" "$ACME" | grep -q newOrder; }
wait_for 30 "Pebble answers its directory at $ACME" pebble_up
need ns_exec 4 curl -sS --max-time 5 --cacert "$T/ca.pem" -o "$T/pebble-root.pem" https://127.0.0.1:15000/roots/0
grep -q "BEGIN CERTIFICATE" "$T/pebble-root.pem" && ok "Pebble's issuing root from its management API" ||
	fatal "Pebble's root: $(head -c 200 "$T/pebble-root.pem")"

# the leaf's service: a static page on 127.0.0.1:8000
mkdir -p "$T/www"
echo "hello from the leaf" >"$T/www/index.html"
ns_bg 3 "$T/backend.err" python3 -m http.server 8000 --bind 127.0.0.1 --directory "$T/www"
watch_pid "$SPAWNED" "the leaf's backend" "$T/backend.err"

# ---- the daemons ----
mkdir -p "$T/h3/certs" "$T/h3/dns"
for i in 1 2 3; do
	{
		ns_mn_star "$i" 3 | { if [ "$i" = 3 ]; then grep -v '^wg_endpoint\|^cert'; else cat; fi; }
		[ "$i" = 1 ] && echo "cert $T/h1/node.cert"
		[ "$i" = 3 ] && printf '%s\n' "cert $T/h3/parent.cert" "cert $T/h3/node.cert"
		echo "expose_proxy haproxy"
		echo "expose_dir $T/h$i/expose"
		case $i in
		1) echo "expose_public $U.1" ;;
		3) echo "expose_cert_dir $T/h3/certs"
		   echo "expose_acme_server $ACME"
		   echo "expose_acme_email ops@example.io"
		   echo "expose_acme_ca $T/ca.pem"
		   echo "expose_acme_dir $T/h3/acme"
		   echo "expose_acme_dns_server 10.42.0.3:53"
		   echo "expose_acme_tsig $T/h3/dns/acme.tsig"
		   echo "dns_server knot"
		   echo "dns_zones own"
		   echo "dns_dir $T/h3/dns"
		   echo "dns_listen 10.42.0.3"
		   echo "dns_acme_key $T/h3/dns/acme.tsig"
		   echo "dns_reload knotc -c $T/h3/dns/knot.conf reload" ;;
		esac
	} >"$T/h$i/mirrornetd.conf"
done
# the leaf runs Knot: its daemon (which runs knotc reload) and knotd share a
# private /run/knot
NS_VIEW="knotrun:/run/knot"
mkdir -p "$T"/h1/etc "$T"/h2/etc "$T"/h3/etc   # (ns_view_init makes them private)
ns_view_init 3 || fatal "a private /run/knot"
MN_SOCKETS=$T/h%s/api.sock
start_daemon() {
	if [ "$1" = 3 ]; then
		"$MN_BUILD/mirrornetd" -n -c "$T/h3/mirrornetd.conf" >/dev/null || return 1
		ns_sh_bg 3 "$T/h3/log" "exec '$MN_BUILD/mirrornetd' -c '$T/h3/mirrornetd.conf'"
	else
		ns_mn_start "$1" || return 1
	fi
	echo "$SPAWNED" >"$T/h$1/daemon.pid"
	watch_pid "$SPAWNED" "the daemon of host $1" "$T/h$1/log"
}
for i in 1 2 3; do start_daemon "$i" || fatal "config or start of host $i"; done
all_alive() { alive_ge 1 2 && alive_ge 2 2 && alive_ge 3 2; }
wait_for 120 "the three daemons see each other alive" all_alive
st() { on "$1" status --json | jq -r ".expose.$2 // empty"; }
running() { [ "$(st "$1" running)" = true ]; }
for i in 1 2 3; do wait_for 30 "host $i runs its HAProxy" running "$i"; done
[ "$(st 3 acme.enabled)" = true ] && [ "$(st 3 acme.certs | jq length)" = 0 ] &&
	ok "ACME is on at the leaf, with no name yet" || bad "the leaf's acme status: $(st 3 acme)"

# ---- HTTP-01 through the cascade ----
wan() { ns_exec 4 curl -sS --max-time 5 "$@"; }
https_ok() {
	[ "$(wan --cacert "$T/pebble-root.pem" --resolve "$1:443:$U.1" "https://$1/")" = "hello from the leaf" ]
}
t0=$(_t_us)
on 3 expose add git --port 8000 >"$T/add.out" 2>&1 && ok "expose add git --port 8000: $(cat "$T/add.out")" ||
	fatal "expose add: $(cat "$T/add.out")"
if poll 120 https_ok "$NAME"; then
	t1=$(_t_us)
	ok "expose add -> $NAME answering HTTPS through the root with a certificate from Pebble: $(((t1 - t0) / 1000)) ms"
else
	bad "no valid HTTPS for $NAME through the root within 120 s"
	on 3 status --json | jq .expose.acme | sed 's/^/    /'
	tail -20 "$T/h3/acme/lego.log" 2>/dev/null | sed 's/^/    /'
fi
CERT=$T/h3/certs/acme-$NAME.pem
[ "$(stat -c %a "$CERT" 2>/dev/null)" = 600 ] && grep -q "PRIVATE KEY" "$CERT" &&
	ok "installed as $(basename "$CERT") (certificate chain + key, mode 600)" || bad "the installed file: $(ls -l "$T/h3/certs")"
issuer=$(openssl x509 -in "$CERT" -noout -issuer 2>/dev/null)
san=$(openssl x509 -in "$CERT" -noout -ext subjectAltName 2>/dev/null | tail -1 | tr -d ' ')
echo "$issuer" | grep -qi pebble && [ "$san" = "DNS:$NAME" ] &&
	ok "issued by Pebble ($issuer) for $san" || bad "the certificate: $issuer / $san"
grep -q "http-01" "$T/h3/acme/lego.log" && grep -qi "$NAME.*served key authentication" "$T/h3/acme/lego.log" &&
	ok "lego on the leaf served the HTTP-01 key authorization (the CA's request came down the cascade)" ||
	bad "lego's log: $(tail -5 "$T/h3/acme/lego.log")"
grep -q "$NAME" "$T/h1/expose/live/host.map" && ! grep -q "$NAME" "$T/h1/expose/live/acme.lst" &&
	grep -q "$NAME" "$T/h3/expose/live/acme.lst" &&
	ok "the root passes $NAME's port 80 down by Host; only the leaf answers its ACME path" ||
	bad "the maps: root $(cat "$T/h1/expose/live/host.map" "$T/h1/expose/live/acme.lst")"
na=$(st 3 'acme.certs[0].not_after')
want=$(date -d "$(openssl x509 -in "$CERT" -noout -enddate | cut -d= -f2)" +%s)
[ "$(st 3 'acme.certs[0].state')" = valid ] && [ "$na" = "$want" ] && [ "$(st 3 acme.issued)" = 1 ] &&
	ok "status: valid, not_after $na (= openssl's notAfter), issued 1" || bad "status: $(st 3 acme)"

# a restart: the certificate is read back, no new order
runs=$(st 3 acme.runs)
stop_pid "$(cat "$T/h3/daemon.pid")"
start_daemon 3 || fatal "restart of the leaf"
valid_again() { [ "$(st 3 'acme.certs[0].state')" = valid ]; }
wait_for 30 "after a restart the leaf reads its certificate back as valid" valid_again
never_for 5 "no new order after the restart (the certificate is valid for 90 days)" \
	test "$(st 3 acme.runs)" -gt 0
wait_for 30 "HTTPS still served after the restart" https_ok "$NAME" ||
	{ for i in 1 2 3; do st $i | head -c 600; echo; done; ns_exec 4 curl -v --max-time 5 --cacert "$T/pebble-root.pem" --resolve "$NAME:443:$U.1" "https://$NAME/" 2>&1 | tail; }
: "$runs"

# a failing order: the ACME server unreachable; counted, said, retried; TLS stays up
sed -i "s|^expose_acme_server .*|expose_acme_server https://$U.4:14999/dir|" "$T/h3/mirrornetd.conf"
kill -HUP "$(cat "$T/h3/daemon.pid")"
server_moved() { [ "$(st 3 acme.server)" = "https://$U.4:14999/dir" ]; }
wait_for 10 "the leaf reloads its config" server_moved
on 3 expose add web --port 8000 >/dev/null || bad "expose add web"
failed() { [ "$(st 3 acme.failures)" -ge 1 ] 2>/dev/null; }
wait_for 60 "an order against an unreachable ACME server fails" failed
err=$(on 3 status --json | jq -r '.expose.acme.certs[] | select(.name == "web.lab.node1.example.io") | .last_error')
echo "$err" | grep -q "lego exit status 1: .*connection refused" && ok "its error in status: ${err:0:120}" || bad "the error: $err"
[ "$(on 3 status --json | jq -r '.expose.acme.certs[] | select(.name == "web.lab.node1.example.io") | .next_try_s')" -gt \
  "$(date +%s)" ] && ok "retried later (backoff)" || bad "no backoff: $(st 3 acme)"
wait_for 30 "$NAME keeps its certificate and answers meanwhile" https_ok "$NAME"
! grep -qi "secret" "$T/h3/acme/lego.log" && ok "lego's log holds no secret" || bad "a secret in lego's log"
on 3 expose remove web >/dev/null
sed -i "s|^expose_acme_server .*|expose_acme_server $ACME|" "$T/h3/mirrornetd.conf"
kill -HUP "$(cat "$T/h3/daemon.pid")"

# ---- DNS-01 on the leaf's own zone ----
ACZ=_acme-challenge.$ZONE
need on 1 dns delegate node1 --to host2 >/dev/null
need on 2 dns delegate lab --to host3 >/dev/null
conf_ready() { grep -q "domain: $ZONE\." "$T/h3/dns/knot.conf" && grep -q "domain: $ACZ\." "$T/h3/dns/knot.conf"; }
wait_for 30 "Vortex DNS on the leaf writes knot.conf with its zone and $ACZ" conf_ready
[ "$(stat -c %a "$T/h3/dns/acme.tsig")" = 600 ] && [ "$(stat -c %a "$T/h3/dns/acme-key.conf")" = 600 ] &&
	grep -q "^include: $T/h3/dns/acme-key.conf" "$T/h3/dns/knot.conf" && ! grep -q "secret:" "$T/h3/dns/knot.conf" &&
	ok "the TSIG key (acme.tsig, acme-key.conf) is 0600; knot.conf (0644) only includes it" ||
	bad "key files: $(ls -l "$T/h3/dns")"
check "knotc conf-check on the leaf's knot.conf" ns_exec 3 knotc -c "$T/h3/dns/knot.conf" conf-check
ns_sh_bg 3 "$T/knotd.log" "exec knotd -c '$T/h3/dns/knot.conf'"
watch_pid "$SPAWNED" "the leaf's knotd" "$T/knotd.log"
soa_at() { ns_exec "$1" kdig +norec +time=1 +retry=0 @10.42.0.3 SOA "$2" | grep -q "Flags: qr aa"; }
wait_for 30 "the leaf's Knot answers $ACZ (authoritative) to the root over the mesh" soa_at 1 "$ACZ"
SECRET=$(cut -d: -f3 "$T/h3/dns/acme.tsig")
upd() {   # upd ZONE OWNER TYPE DATA: an RFC 2136 update with the ACME key
	printf 'server 10.42.0.3 53
zone %s.
add %s. 60 %s %s
send
' "$1" "$2" "$3" "$4" |
		ns_exec 3 knsupdate -y "hmac-sha256:mn-acme.:$SECRET" 2>&1
}
upd "$ZONE" "evil.$ZONE" A 10.9.9.9 >"$OUT"; has "the ACME key cannot update the leaf's zone itself" "BADKEY|REFUSED|NOTAUTH"
ns_exec 1 kdig +short @10.42.0.3 A "evil.$ZONE" | grep -q 10.9.9.9 && bad "the update went in" || ok "no evil.$ZONE"
upd "$ACZ" "x.$ACZ" TXT '"x"' >/dev/null
[ -z "$(ns_exec 1 kdig +short @10.42.0.3 TXT "x.$ACZ")" ] && ok "nor another owner in $ACZ (update-owner equal)" ||
	bad "x.$ACZ was added"

# a TXT added by update survives a regeneration and reload of the leaf's zone
upd "$ACZ" "$ACZ" TXT '"probe"' >/dev/null
txt_probe() { ns_exec 1 kdig +short @10.42.0.3 TXT "$ACZ" | grep -q probe; }
wait_for 10 "a TXT at $ACZ by RFC 2136 with the key" txt_probe
on 3 expose add probe --port 9000 --channels mesh >/dev/null || bad "expose add probe"
probe_a() { ns_exec 1 kdig +short @10.42.0.3 A "probe.$ZONE" | grep -q 10.42.0.3; }
wait_for 30 "the leaf's zone is regenerated and reloaded (probe.$ZONE appears)" probe_a
txt_probe && ok "the TXT in $ACZ is still there after the reload" || bad "the TXT was lost by the reload"

t0=$(_t_us)
sed -i "/^expose_acme_server /a expose_acme_challenge dns" "$T/h3/mirrornetd.conf"
kill -HUP "$(cat "$T/h3/daemon.pid")"
WILD=$T/h3/certs/acme-wildcard.$ZONE.pem
wild_valid() {
	on 3 status --json | jq -e --arg z "$ZONE" '.expose.acme.certs[] | select(.name == $z and .wildcard and .state == "valid")' >/dev/null
}
if poll 120 wild_valid; then
	t1=$(_t_us)
	ok "DNS-01: $ZONE + *.$ZONE issued by Pebble and installed: $(((t1 - t0) / 1000)) ms after the switch"
else
	bad "no wildcard certificate within 120 s"
	on 3 status --json | jq .expose.acme | sed 's/^/    /'
	tail -20 "$T/h3/acme/lego.log" | sed 's/^/    /'
fi
san=$(openssl x509 -in "$WILD" -noout -ext subjectAltName 2>/dev/null | tail -1 | tr -d ' ')
case $san in *"DNS:*.$ZONE"*"DNS:$ZONE"*|*"DNS:$ZONE"*"DNS:*.$ZONE"*) ok "its names: $san" ;; *) bad "its names: $san" ;; esac
grep -q "dns-01" "$T/h3/acme/lego.log" && grep -qi "rfc2136\|Preparing to solve DNS-01" "$T/h3/acme/lego.log" &&
	ok "lego solved DNS-01 with rfc2136 against the leaf's Knot" || bad "lego's log: $(tail -5 "$T/h3/acme/lego.log")"
on 3 expose add www --port 8000 >/dev/null || bad "expose add www"
wait_for 60 "https://www.$ZONE/ through the root verifies with the wildcard" https_ok "www.$ZONE"
ns_exec 4 openssl s_client -connect "$U.1:443" -servername "www.$ZONE" </dev/null 2>/dev/null |
	grep -q "CN = \*\.\?$ZONE\|CN = $ZONE" && ok "the certificate served for www is the zone's" ||
	skip "the served certificate's subject (Pebble leaves the CN empty)"
[ "$(on 3 status --json | jq '[.expose.acme.certs[]] | length')" = 1 ] &&
	ok "www (one label below the zone) needs no order of its own" || bad "items: $(st 3 acme.certs)"
! grep -qF "$SECRET" "$T/h3/acme/lego.log" "$T/h3/log" && ok "the TSIG secret is in no log" ||
	bad "the TSIG secret in a log"
finish
