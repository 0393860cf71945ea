#!/bin/bash
# Zone transfers to an outside secondary (docs/dns.md "Zone transfers"):
#
#   host 1  the mesh root (mesh init --domain example.io), mirrornetd with
#           dns_server knot on 192.168.242.1:53, dns_secondary 192.168.242.2,
#           dns_xfr_key (made by the daemon)
#   host 2  BIND 9 as a secondary of example.io (primaries 192.168.242.1 with
#           the key), on 192.168.242.2:53; 192.168.242.12 a second address
#
# Checked: a key file others may read is refused at config time (mirrornetd
# -n); the daemon makes the key 0600 and the secret is only in xfr-key.conf
# (0600), never in knot.conf or the log; the secondary loads the zone (AA);
# a delegation changes the root's zone and NOTIFY brings the secondary the
# new serial and name at once (its refresh is an hour); the serial grew; an
# AXFR without the key, or with the key from another address, is refused;
# with the key from the secondary's address it is whole; an IXFR from the
# old serial is incremental (Knot's journal). The servers talk over the
# test's own bridge only.
. "$(dirname "$0")/lib.sh"
: "${MN_BUILD:?MN_BUILD not set}"
tmpdir mn-dnsxfr
chmod 755 "$T"
for t in knotd knotc named dig jq; do
	command -v $t >/dev/null || fatal "missing $t (tools/deps)"
done

ns_init 2 || fatal "cannot make namespaces"
NS_VIEW="$NS_VIEW knotrun:/run/knot namedrun:/run/named"
ns_view_init 2 || fatal "the hosts' private views"
MN_SOCKETS=$T/h%s/api.sock
P=192.168.242.1 S=192.168.242.2 OTHER=192.168.242.12
D=$T/h1/dns KEY=$T/h1/xfr.tsig
mkdir -p "$D" "$T/h2/sec"
ns_exec 2 ip addr add "$OTHER/24" dev u2

# ---- the root: a mesh without WireGuard, Knot on the underlay ----
need "$MN_BUILD/mirrornetctl" mesh init --dir "$T/h1" --name master --domain example.io \
	--db "$T/h1/store.db" --api "$T/h1/api.sock" >/dev/null
sed -i '/^wg_/d' "$T/h1/mirrornetd.conf"
printf '%s\n' "dns_server knot" "dns_dir $D" "dns_listen $P" "dns_port 53" \
	"dns_reload knotc -c $D/knot.conf reload" "dns_secondary $S" >>"$T/h1/mirrornetd.conf"

# a key file that group or others may read is refused before anything runs
printf 'hmac-sha256:mn-xfr:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n' >"$T/h1/open.tsig"
chmod 644 "$T/h1/open.tsig"
{ cat "$T/h1/mirrornetd.conf"; echo "dns_xfr_key $T/h1/open.tsig"; } >"$T/h1/open.conf"
expect 1 "mirrornetd -n refuses a TSIG key file readable by others" \
	"$MN_BUILD/mirrornetd" -n -c "$T/h1/open.conf"
has "...and says why" "dns_xfr_key .*open.tsig: a TSIG key readable or writable by others \(mode 0644\); chmod 600 it"
expect 1 "mirrornetd -n refuses dns_secondary without dns_xfr_key" \
	"$MN_BUILD/mirrornetd" -n -c "$T/h1/mirrornetd.conf"
has "...and says why" "dns_secondary needs dns_xfr_key"
echo "dns_xfr_key $KEY" >>"$T/h1/mirrornetd.conf"
need "$MN_BUILD/mirrornetd" -n -c "$T/h1/mirrornetd.conf" >/dev/null

ns_sh_bg 1 "$T/d1.log" "exec mirrornetd -c $T/h1/mirrornetd.conf"
watch_pid "$SPAWNED" "the root's daemon" "$T/d1.log"
wait_for 20 "the root's daemon answers" on 1 status --json
need on 1 dns init example.io --ns-addr "$P" >/dev/null
wait_for 30 "the apex zone names ns.example.io at $P" grep -q "^ns	.*	A	$P\$" "$D/example.io.zone"
wait_for 10 "the daemon made the transfer key" test -s "$KEY"
[ "$(stat -c %a "$KEY")" = 600 ] && [ "$(stat -c %a "$D/xfr-key.conf")" = 600 ] &&
	ok "the key file and xfr-key.conf are 0600" ||
	bad "modes: key $(stat -c %a "$KEY"), xfr-key.conf $(stat -c %a "$D/xfr-key.conf")"
ALG=$(cut -d: -f1 "$KEY") NAME=$(cut -d: -f2 "$KEY") SECRET=$(cut -d: -f3 "$KEY")
[ "$ALG:$NAME" = hmac-sha256:mn-xfr ] && ok "the key made: $ALG, name $NAME" || bad "key $ALG:$NAME"
grep -qF "$SECRET" "$D/xfr-key.conf" && ! grep -qF "$SECRET" "$D/knot.conf" "$T/d1.log" &&
	grep -q "^include: $D/xfr-key.conf" "$D/knot.conf" &&
	ok "the secret is in xfr-key.conf only (knot.conf includes it; not in the log)" ||
	bad "where the secret is"
ns_sh_bg 1 "$T/knot.log" "exec knotd -c $D/knot.conf"
watch_pid "$SPAWNED" "Knot at the root" "$T/knot.log"
soa() { ns_exec "$1" dig +short +norec +time=2 +tries=1 @"$2" example.io SOA 2>/dev/null | awk '$3 ~ /^[0-9]+$/ {print $3}'; }   # a serial, not an error line
soa_is() { [ "$(soa "$1" "$2")" = "$3" ]; }   # soa_is HOST SERVER SERIAL
soa_not() { [ "$(soa "$1" "$2")" != "$3" ]; }
wait_for 20 "Knot serves example.io" soa_not 1 $P ""
S1=$(soa 1 $P)
# the serial: the newest record's time in unix seconds (docs/dns.md "Serials")
[ $((S1 - $(date +%s))) -le 5 ] && [ $(($(date +%s) - S1)) -le 300 ] &&
	ok "the serial $S1 is the records' time in unix seconds" || bad "serial $S1, now $(date +%s)"

# ---- the secondary: BIND 9 with the key ----
printf 'key "%s" {\n\talgorithm %s;\n\tsecret "%s";\n};\n' "$NAME" "$ALG" "$SECRET" >"$T/h2/key.conf"
chmod 600 "$T/h2/key.conf"
cat >"$T/h2/named.conf" <<EOF
include "$T/h2/key.conf";
options {
	directory "$T/h2/sec";
	listen-on port 53 { $S; };
	listen-on-v6 { none; };
	recursion no;
	notify no;
	pid-file "$T/h2/named.pid";
};
zone "example.io" {
	type secondary;
	primaries { $P key "$NAME"; };
	file "example.io.sec";
	masterfile-format text;
};
EOF
need named-checkconf "$T/h2/named.conf"
ns_sh_bg 2 "$T/named.log" "exec named -g -c $T/h2/named.conf"
watch_pid "$SPAWNED" "BIND, the secondary" "$T/named.log"
wait_for 30 "the secondary transferred example.io (serial $S1)" soa_is 2 $S "$S1"
ns_exec 2 dig +norec +time=2 +tries=1 @$S example.io NS >"$OUT" 2>&1
has "the secondary answers NS example.io authoritatively (AA)" "flags: qr aa"
has "...with the root's name server" "ns\.example\.io\.$"

# ---- a change at the root: NOTIFY brings it to the secondary ----
need on 1 dns delegate sub --to master --ns-addr "$P" >/dev/null
wait_for 30 "the root's zone delegates sub.example.io" grep -q "^sub	.*	NS	" "$D/example.io.zone"
wait_for 20 "Knot serves a new serial" soa_not 1 $P "$S1"
S2=$(soa 1 $P)
[ "$S2" -gt "$S1" ] && ok "the serial grew: $S1 -> $S2" || bad "serial $S1 -> $S2"
[ -d "$D/journal" ] && ok "Knot keeps its journal of changes in dns_dir" || bad "no journal in $D"
# the SOA refresh is 3600 s: only the NOTIFY brings it this soon
wait_for 20 "the secondary has the new serial $S2 (NOTIFY)" soa_is 2 $S "$S2"
ns_exec 2 dig +norec +time=2 +tries=1 @$S sub.example.io NS >"$OUT" 2>&1
has "the secondary refers sub.example.io to ns.sub.example.io" "ns\.sub\.example\.io\."
grep -qi "notify from $P" "$T/named.log" && ok "the secondary's log shows the NOTIFY from $P" ||
	bad "no notify in the secondary's log"

# ---- who may transfer ----
axfr() { ns_exec 2 dig +time=3 +tries=1 -b "$1" @$P example.io AXFR "${@:2}" 2>&1; }
soas() { grep -Pc '^example\.io\.\s+\d+\s+IN\s+SOA\s' "$1"; }
axfr $S >"$OUT"
[ "$(soas "$OUT")" = 0 ] && ok "AXFR without the key from the secondary's address: refused" ||
	{ bad "AXFR without the key"; _t_show "$OUT"; }
axfr $OTHER -k "$T/h2/key.conf" >"$OUT"
[ "$(soas "$OUT")" = 0 ] && ok "AXFR with the key from another address ($OTHER): refused" ||
	{ bad "AXFR with the key from $OTHER"; _t_show "$OUT"; }
axfr $S -k "$T/h2/key.conf" >"$OUT"
[ "$(soas "$OUT")" = 2 ] && grep -q "sub\.example\.io\..*NS" "$OUT" &&
	ok "AXFR with the key from the secondary's address: the whole zone" ||
	{ bad "AXFR with the key"; _t_show "$OUT"; }
# IXFR from S1: SOA S2, then for the change SOA S1 (deleted), SOA S2 (added), SOA S2
ns_exec 2 dig +time=3 +tries=1 -b $S @$P example.io "IXFR=$S1" -k "$T/h2/key.conf" >"$OUT" 2>&1
n=$(soas "$OUT")
[ "$n" = 4 ] && grep -Pq "\sSOA\s.* $S1 " "$OUT" &&
	ok "IXFR from $S1: incremental (4 SOAs: $S2, the change $S1 -> $S2)" ||
	{ bad "IXFR=$S1: $n SOA records"; _t_show "$OUT"; }
ns_exec 2 dig +time=3 +tries=1 -b $S @$P example.io "IXFR=$S1" >"$OUT" 2>&1
[ "$(soas "$OUT")" = 0 ] && ok "IXFR without the key: refused" || { bad "IXFR without the key"; _t_show "$OUT"; }
grep -qF "$SECRET" "$T/d1.log" && bad "the secret reached the daemon's log" || ok "the secret is not in the daemon's log"
finish
