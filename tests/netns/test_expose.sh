#!/bin/bash
# The mesh's CDN with real HAProxy over WireGuard in network namespaces
# (docs/expose.md, issue #13):
#
#   host 1  root     any scope             public entry 192.168.242.1 (80, 443)
#   host 2  node1    node1.example.io      sub-master
#   host 3  lab      lab.node1.example.io  leaf behind NAT: the service, its TLS certificate
#   host 4  node2    node2.example.io      mirror of the leaf's name, public entry 192.168.242.4
#   host 5  a WAN client (no daemon): curl only
#
# Each daemon runs its own HAProxy (expose_proxy haproxy). The leaf exposes
# git (HTTP on 127.0.0.1, TLS ended by the leaf's HAProxy with a certificate
# from the test's CA) with host4 as mirror. Checked: from the WAN, HTTP and
# HTTPS to the root's public address reach the leaf's backend through root →
# node1 → lab (certificate verified for the name), and the backend sees the
# WAN client's address (PROXY v2 over two hops, X-Forwarded-For at the end);
# multipoint DNS: the root's Knot (Vortex) answers the name with the public
# entry points (the root's, the mirror's; expose_advertise; never a mesh
# address), a WAN client resolves it there and gets through, and the name
# leaves DNS with the exposure;
# the sub-master passes the name down, the root does not know the backend;
# with the root's HAProxy stopped, the mirror answers; a config HAProxy
# refuses (an empty certificate directory) leaves the running one serving
# and says why in status; a member cannot publish a name outside its scope;
# `expose remove` takes the name off every node. Needs root, wireguard-go,
# haproxy, curl, openssl, python3, jq; skips otherwise.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd wireguard-go haproxy curl openssl python3 jq nft knotd knotc kdig
: "${MN_BUILD:?}"
tmpdir mn-expose
chmod 755 "$T"
K=5
NAME=git.lab.node1.example.io
U=$NS_UNDERLAY

ns_init $K || fatal "namespaces"
ns_nat 3 || fatal "NAT router for the leaf"
ns_mn_keys 4 || fatal "keys"
did() { ns_mn_id "$1" did; }
# the root's own certificate holds the mesh domain (as mesh init --domain)
need "$MN_BUILD/mirrornetctl" cert issue --key "$T/h1/node.key" --subject "$(did 1)" --role master \
	--depth 0 --max-depth 4 --scope example.io --addr 10.42.0.1 --out "$T/h1/root.cert"
need ns_mn_issue 1 2 sub-master 1 node1.example.io
need ns_mn_issue 2 3 peer 2 lab.node1.example.io
need ns_mn_issue 1 4 peer 1 node2.example.io
cp "$T/h2/node.cert" "$T/h3/parent.cert"
for i in 1 2 3 4; do ns_wg_up "$i" || fatal "wireguard-go in host $i"; done

# the leaf's service: HTTP on 127.0.0.1:8000, logging who asked
cat >"$T/backend.py" <<'EOF'
import http.server, sys
log, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from the leaf\n"
        with open(log, "a") as f:
            f.write("%s %s xff=%s\n" % (self.client_address[0], self.path,
                                        self.headers.get("X-Forwarded-For", "-")))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
ns_bg 3 "$T/backend.err" python3 "$T/backend.py" "$T/backend.log" 8000
watch_pid "$SPAWNED" "the leaf's backend" "$T/backend.err"

# a CA of the test's and the leaf's certificate for its name (the leaf's key stays on the leaf)
mkdir -p "$T/h3/certs" "$T/empty-certs"
need openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=test-ca -days 2 \
	-keyout "$T/ca.key" -out "$T/ca.pem" 2>/dev/null
need openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$NAME" \
	-keyout "$T/leaf.key" -out "$T/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s\n' "$NAME" >"$T/san.ext"
need openssl x509 -req -in "$T/leaf.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
	-extfile "$T/san.ext" -out "$T/leaf.pem" 2>/dev/null
cat "$T/leaf.pem" "$T/leaf.key" >"$T/h3/certs/git.pem"
chmod 600 "$T/h3/certs/git.pem" "$T/leaf.key"

for i in 1 2 3 4; do
	{
		# the leaf: no endpoint (behind NAT), its chain parent first
		ns_mn_star "$i" 4 | { if [ "$i" = 3 ]; then grep -v '^wg_endpoint\|^cert'; else cat; fi; }
		[ "$i" = 3 ] && printf '%s\n' "cert $T/h3/parent.cert" "cert $T/h3/node.cert"
		echo "expose_proxy haproxy"
		echo "expose_dir $T/h$i/expose"
		case $i in
		1) echo "expose_public $U.1"
		   echo "cert $T/h1/root.cert"
		   # Vortex DNS with Knot, on the public address: the CDN's names
		   printf '%s\n' "dns_server knot" "dns_dir $T/h1/dns" "dns_port 53" "dns_listen $U.1" \
			"dns_reload kill -HUP \$(cat $T/knot.pid)" ;;   # knotc would need the view
		4) echo "expose_public $U.4" ;;
		3) echo "expose_cert_dir $T/h3/certs"
		   echo "expose git 8000 proto=http mirror=host4" ;;
		esac
	} >"$T/h$i/mirrornetd.conf"
done
for i in 1 2 3 4; do
	ns_mn_start "$i" || fatal "config or start of host $i"
	echo "$SPAWNED" >"$T/h$i/daemon.pid"
	watch_pid "$SPAWNED" "the daemon of host $i" "$T/h$i/log"
done

poll 60 test -s "$T/h1/dns/knot.conf" || fatal "the root's knot.conf"
# Knot's run directory (/run/knot) private to host 1 (lib.sh views)
NS_VIEW="knotrun:/run/knot"
for i in $(seq 1 $K); do mkdir -p "$T/h$i/etc"; done
sockets=${MN_SOCKETS-}
ns_view_init $K || fatal "host 1's view of /run/knot"
MN_SOCKETS=$sockets   # (ns_view_init points it into the views; the daemons run outside them)
ns_sh_bg 1 "$T/knot.log" "exec knotd -c $T/h1/dns/knot.conf"
echo "$SPAWNED" >"$T/knot.pid"
watch_pid "$SPAWNED" "the root's Knot" "$T/knot.log"

all_alive() { alive_ge 1 3 && alive_ge 2 3 && alive_ge 3 3 && alive_ge 4 3; }
wait_for 120 "the four daemons see each other alive" all_alive
st() { on "$1" status --json | jq -r ".expose.$2 // empty"; }
routes_ge() { [ "$(st "$1" routes)" -ge "$2" ] 2>/dev/null && [ "$(st "$1" running)" = true ]; }
for i in 1 2 3 4; do wait_for 60 "host $i routes the leaf's name through a running HAProxy" routes_ge "$i" 1; done
ok "every node's HAProxy runs with a route for $NAME"

grep -q "^$NAME H0_t$" "$T/h1/expose/live/sni.map" && grep -q "server s 10.42.0.2:8443 send-proxy-v2" \
	"$T/h1/expose/live/haproxy.cfg" && ok "the root passes $NAME to its child node1 (10.42.0.2)" ||
	bad "the root's route: $(cat "$T/h1/expose/live/sni.map")"
grep -q "server s 10.42.0.3:8443 send-proxy-v2" "$T/h2/expose/live/haproxy.cfg" &&
	ok "node1 passes it one step down, to lab (10.42.0.3)" || bad "node1's route"
grep -q "server s 10.42.0.3:8443 send-proxy-v2" "$T/h4/expose/live/haproxy.cfg" &&
	ok "the mirror passes it straight to lab" || bad "the mirror's route"
grep -q "^$NAME term$" "$T/h3/expose/live/sni.map" && grep -q "^10.42.0.2$" "$T/h3/expose/live/hop_src.lst" &&
	grep -q "^10.42.0.4$" "$T/h3/expose/live/hop_src.lst" &&
	ok "lab ends TLS for its name; only node1 and the mirror may hand it connections" ||
	bad "the leaf's maps: $(cat "$T/h3/expose/live/sni.map" "$T/h3/expose/live/hop_src.lst")"
! grep -rq "8000" "$T/h1/expose/live" "$T/h2/expose/live" "$T/h4/expose/live" &&
	ok "the backend's address is on the leaf only" || bad "a backend address left the leaf"

wan() { ns_exec 5 curl -sS --max-time 5 "$@"; }
http_via() { [ "$(wan --resolve "$NAME:80:$1" "http://$NAME/$2")" = "hello from the leaf" ]; }
https_via() { [ "$(wan --cacert "$T/ca.pem" --resolve "$NAME:443:$1" "https://$NAME/$2")" = "hello from the leaf" ]; }
wait_for 30 "HTTP from the WAN through the root reaches the leaf" http_via "$U.1" plain &&
	ok "HTTP: WAN -> root -> node1 -> lab"
wait_for 30 "HTTPS from the WAN through the root reaches the leaf" https_via "$U.1" tls &&
	ok "HTTPS: WAN -> root -> node1 -> lab, the leaf's certificate verified for $NAME"
grep -q "^127.0.0.1 /tls xff=$U.5$" "$T/backend.log" && grep -q "^127.0.0.1 /plain xff=$U.5$" "$T/backend.log" &&
	ok "the leaf's backend sees the WAN client's address ($U.5) after two hops" ||
	bad "the backend's log: $(cat "$T/backend.log")"
ns_exec 5 curl -sS --max-time 5 --cacert "$T/ca.pem" --resolve "nobody.example.io:443:$U.1" \
	https://nobody.example.io/ >/dev/null 2>&1 && bad "an unknown name got an answer at the root" ||
	ok "an unknown name is closed at the root"

# a config HAProxy refuses: the running one keeps serving, status says why
sed -i "s|^expose_cert_dir .*|expose_cert_dir $T/empty-certs|" "$T/h3/mirrornetd.conf"
kill -HUP "$(cat "$T/h3/daemon.pid")"
fails_ge() { [ "$(st 3 check_failures)" -ge 1 ] 2>/dev/null; }
wait_for 30 "the leaf's HAProxy refuses a config without certificates" fails_ge &&
	st 3 last_error | grep -q "haproxy -c refused" && https_via "$U.1" still &&
	ok "a refused config leaves the running one serving ($(st 3 last_error | cut -c1-80)...)" ||
	bad "a refused config: $(st 3 last_error)"
sed -i "s|^expose_cert_dir .*|expose_cert_dir $T/h3/certs|" "$T/h3/mirrornetd.conf"
kill -HUP "$(cat "$T/h3/daemon.pid")"

# multipoint DNS: the root's Knot gives the name's public entry points
dns_a() { ns_exec 5 kdig +short +norec +time=2 +retry=0 @"$U.1" "$NAME" A 2>/dev/null | sort | tr '\n' ' '; }
dns_is() { [ "$(dns_a)" = "$1" ]; }
wait_for 30 "the root's DNS answers $NAME with the root's and the mirror's entry points" dns_is "$U.1 $U.4 " &&
	ok "DNS at the root: $NAME A $(dns_a)(the root, then up the chain; the mirror)"
ns_exec 5 kdig +norec +time=2 +retry=0 @"$U.1" "$NAME" A 2>/dev/null | grep -qi "flags: qr aa" &&
	ok "  ...an authoritative answer" || bad "not authoritative: $(ns_exec 5 kdig +norec @"$U.1" "$NAME" A)"
! ns_exec 5 kdig +short +norec +time=2 +retry=0 @"$U.1" "$NAME" ANY 2>/dev/null | grep -q "10\.42\." &&
	! grep -rq "_git._tcp" "$T/h1/dns" && ok "  ...no mesh address and no mesh SRV under the public name" ||
	bad "a mesh address under $NAME: $(grep -r "$NAME\|git" "$T/h1/dns"/*.zone)"
ip=$(ns_exec 5 kdig +short +norec +time=2 +retry=0 @"$U.1" "$NAME" A 2>/dev/null | head -1)
[ -n "$ip" ] && https_via "$ip" dns && ok "a WAN client resolves $NAME at the root's DNS ($ip) and reaches the leaf over HTTPS" ||
	bad "resolve and connect: '$ip'"
# the mirror advertises another address (a router behind port forwarding)
echo "expose_advertise 192.0.2.44" >>"$T/h4/mirrornetd.conf"
kill -HUP "$(cat "$T/h4/daemon.pid")"
wait_for 30 "the mirror's advertised address replaces its public one in DNS" dns_is "192.0.2.44 $U.1 " &&
	ok "expose_advertise at the mirror: $NAME A $(dns_a)"
sed -i '/^expose_advertise /d' "$T/h4/mirrornetd.conf"
kill -HUP "$(cat "$T/h4/daemon.pid")"
wait_for 30 "the mirror's public address back in DNS" dns_is "$U.1 $U.4 "

# a member cannot publish a name outside its scope
out=$(on 4 expose add evil --port 80 --domain "$NAME" 2>&1) && bad "host4 published $NAME" ||
	{ echo "$out" | grep -q "outside this node's DNS scope" && ok "host4 cannot claim $NAME: $out" ||
	  bad "host4 claiming $NAME: $out"; }

# the root down: the mirror answers
kill "$(cat "$T/h1/expose/haproxy.pid")"
root_down() { ! wan --resolve "$NAME:80:$U.1" "http://$NAME/down" >/dev/null 2>&1; }
wait_for 10 "the root's HAProxy stopped" root_down
https_via "$U.4" mirror && http_via "$U.4" mirror &&
	ok "with the root's HAProxy down, the mirror ($U.4) serves $NAME over HTTP and HTTPS" ||
	bad "the mirror does not serve $NAME"

# the config line gone (SIGHUP): the name leaves every node
sed -i '/^expose git /d' "$T/h3/mirrornetd.conf"
kill -HUP "$(cat "$T/h3/daemon.pid")"
gone_everywhere() { for i in 1 2 3 4; do ! grep -q "$NAME" "$T/h$i/expose/live/sni.map" || return 1; done; }
wait_for 30 "the name leaves every node's maps" gone_everywhere && ok "its config line removed: $NAME is routed nowhere"
wait_for 30 "the name leaves the root's DNS" dns_is "" && ok "  ...and has no address in DNS"
! https_via "$U.4" after && ok "the mirror no longer serves it" || bad "the mirror still serves $NAME"

# the CLI: expose add, the name answers through the root; expose remove
t0=$(_t_us)
on 3 expose add git --port 8000 --mirror host4 >"$T/add.out" 2>&1 && grep -q "as $NAME" "$T/add.out" &&
	ok "mirrornetctl expose add git --port 8000: $(cat "$T/add.out")" || bad "expose add: $(cat "$T/add.out")"
poll 30 http_via "$U.1" again && t1=$(_t_us) && poll 30 https_via "$U.1" again && t2=$(_t_us) &&
	poll 30 dns_is "$U.1 $U.4 " && t3=$(_t_us) &&
	ok "expose add -> answering through the root: HTTP $(((t1 - t0) / 1000)) ms, HTTPS $(((t2 - t0) / 1000)) ms, in the root's DNS $(((t3 - t0) / 1000)) ms" ||
	{ bad "the added exposure does not answer through the root"; on 1 status --json | jq .expose;
	  tail -5 "$T/h1/expose/haproxy.log"; }
on 3 expose list --json | jq -e --arg n "$NAME" '.own[0].service == "git" and ([.mesh[] | select(.domain == $n)] | length == 1)' \
	>/dev/null && ok "expose list --json: ours with its backend, the mesh's record" || bad "expose list"
on 1 expose check >"$T/check.out" 2>&1 && grep -q "haproxy -c .*: ok" "$T/check.out" &&
	ok "expose check at the root: $(head -1 "$T/check.out")" || bad "expose check: $(cat "$T/check.out")"
on 3 expose remove git >/dev/null && ok "expose remove git" || bad "expose remove"
wait_for 30 "the name leaves every node's maps again" gone_everywhere && ok "$NAME is routed nowhere after expose remove"
wait_for 30 "the name leaves the root's DNS again" dns_is "" && ok "  ...and is gone from DNS"
finish
