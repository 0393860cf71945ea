#!/bin/bash
# Backup MX over real WireGuard (wireguard-go) with real Postfix (docs/mail.md):
#   host 1  the root (scope example.io): Vortex writes the zone (MX records),
#           and the WAN client: swaks from its underlay address
#   host 2  the primary of n2.example.io (scope n2.example.io), Postfix
#           delivering to a Maildir
#   host 3  the backup MX (mail_backup_mx yes, scope n3.example.io), Postfix
#           relaying with the maps mirrornetd writes (texthash:)
#   host 4  a member of scope n4.example.io that also claims gmail.com
# Mailbox backup: host 2 pushes its Maildir (backup_job mail 1m tar ...)
# through the backup subsystem to holders among the others.
# Checked: host 2's svc mail reaches host 3's maps and Postfix; with host 2's
# Postfix down, mail sent from the WAN to n2.example.io lands in host 3's
# queue; host 2 back, it is delivered and the queue is empty; gmail.com
# never reaches the maps and host 3 refuses to relay it; the MX records
# (mirrornetctl mail mx, Vortex's zone file) name the primary, then the
# backup; the root revokes host 4: n4.example.io leaves host 3's maps.
# Each Postfix instance is private: its own /etc/postfix (a bind mount in a
# mount namespace of its own, so the system's is not touched), queue, data
# directory and log file. Needs root, wireguard-go, postfix, swaks.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd wireguard-go jq
command -v postfix >/dev/null && [ -d /etc/postfix ] && command -v swaks >/dev/null ||
	skip_all "needs postfix and swaks (tools/deps)"
B=${MN_BUILD:?}
K=4
U=$NS_UNDERLAY
tmpdir mn-mail
chmod 755 "$T"   # Postfix's daemons run as postfix: they walk into $T/hI/pfq

ns_init "$K" || fatal "namespaces"
ns_mn_keys "$K" || fatal "keys"
need "$B/mirrornetctl" cert issue --key "$T/h1/node.key" --subject "$(ns_mn_id 1 did)" --role master \
	--depth 0 --max-depth 4 --scope example.io --addr 10.42.0.1 --out "$T/h1/root.cert"
for i in 2 3 4; do need ns_mn_issue 1 "$i" peer 1 "n$i.example.io"; done

# ---- Postfix, one private instance per host ----
# pf I CMD...: CMD in host I with host I's /etc/postfix
cat >"$T/pf" <<EOF
#!/bin/sh
i=\$1; shift
exec ip netns exec "${NS_TAG}h\$i" unshare -m sh -c \
	"mount --make-rprivate / && mount --bind '$T'/h\$i/pf /etc/postfix && exec \$*"
EOF
chmod 755 "$T/pf"
pf() { "$T/pf" "$@"; }
pf_conf() {   # pf_conf I EXTRA-LINES
	local i=$1 d="$T/h$1"
	mkdir -p "$d/pfd" "$d/pfq" && chmod 755 "$d" "$d/pfq" && chown postfix "$d/pfd" || return 1
	cp -a /etc/postfix "$d/pf" || return 1
	rm -f "$d/pf/main.cf"
	cat >"$d/pf/main.cf" <<EOF
compatibility_level = 3.6
myhostname = mx.n$i.example.io
queue_directory = $d/pfq
data_directory = $d/pfd
maillog_file = $d/maillog
maillog_file_prefixes = /tmp
inet_interfaces = all
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_transport = error:no local mail here
alias_maps =
alias_database =
smtpd_peername_lookup = no
smtp_host_lookup = native
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 2s
$2
EOF
	postconf -c "$d/pf" -F '*/*/chroot = n' || return 1
}
pf_started=()
pf_stop_all() {
	local i pid
	for i in "${pf_started[@]}"; do
		pf "$i" postfix stop >/dev/null 2>&1
		pid=$(tr -d ' ' 2>/dev/null <"$T/h$i/pfq/pid/master.pid")
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	done
}
at_exit pf_stop_all
pf_start() {
	pf_started+=("$1")
	pf "$1" postfix start >>"$T/h$1/pf.out" 2>&1 || { cat "$T/h$1/pf.out" "$T/h$1/maillog" 2>/dev/null; return 1; }
}
pf_up() { ns_exec "$1" ss -ltn | grep -q ':25 '; }
pf_queue_empty() { pf "$1" postqueue -p 2>&1 | grep -q "Mail queue is empty"; }

# host 2: the final destination of n2.example.io, a Maildir
mkdir -p "$T/h2/mail" && chown postfix "$T/h2/mail"
pf_conf 2 "virtual_mailbox_domains = n2.example.io
virtual_mailbox_base = $T/h2/mail
virtual_mailbox_maps = texthash:$T/h2/pf/vmailbox
virtual_minimum_uid = 1
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)" || fatal "host 2's Postfix config"
echo "user@n2.example.io user/" >"$T/h2/pf/vmailbox"
# host 3: the backup, with the maps mirrornetd writes
mkdir -p "$T/h3/maps"
pf_conf 3 "relay_domains = texthash:$T/h3/maps/relay_domains
transport_maps = texthash:$T/h3/maps/transport" || fatal "host 3's Postfix config"

# Postfix on the backup only (as on a box, before mirrornetd): the primary's is down
check "host 3's Postfix starts" pf_start 3
wait_for 20 "host 3's Postfix listens on port 25" pf_up 3

# ---- the mesh ----
declare -A PID
for i in $(seq 1 "$K"); do
	ns_wg_up "$i" || fatal "wireguard-go in host $i"
	{
		ns_mn_star "$i" "$K"
		printf '%s\n' "backup_dir $T/h$i/backup" "backup_offer 67108864"
		case $i in
		1) printf '%s\n' "cert $T/h1/root.cert" "dns_server knot" "dns_dir $T/h1/dns" "dns_reload true" ;;
		2) printf '%s\n' "mail_domains n2.example.io" "mail_mx_host mx.n2.example.io" \
			"backup_job mail 1m tar -C $T/h2/mail -cf - ." ;;
		3) printf '%s\n' "mail_backup_mx yes" "mail_mx_host mx.n3.example.io" "mail_map_dir $T/h3/maps" \
			"mail_reload $T/pf 3 postfix reload" "mail_flush $T/pf 3 postqueue -f" \
			"mail_reload_timeout_s 20" ;;
		4) printf '%s\n' "mail_domains n4.example.io,gmail.com" "mail_mx_host mx.n4.example.io" ;;
		esac
	} >"$T/h$i/mirrornetd.conf"
	ns_mn_start "$i" || fatal "config or start of host $i"
	PID[$i]=$SPAWNED
	watch_pid "$SPAWNED" "mirrornetd in host $i" "$T/h$i/log"
done

all_alive() { local i; for i in $(seq 1 "$K"); do alive_ge "$i" $((K - 1)) || return 1; done; }
wait_for 90 "$K hosts over WireGuard see each other alive" all_alive
in_map() { grep -q "^$2 " "$T/h3/maps/$1" 2>/dev/null; }
wait_for 30 "host 2's domain reaches host 3's relay_domains" in_map relay_domains n2.example.io
check "... routed to host 2's certified mesh address" grep -qx "n2.example.io smtp:\[10.42.0.2\]:25" "$T/h3/maps/transport"
reloaded() { json_ok '.mail.reloads >= 1 and .mail.reload_status == "ok"' on 3 status --json; }
wait_for 30 "host 3 reloaded its Postfix (postfix reload)" reloaded
# a domain added at host 2 (config reload): from its new record's version
# (µs, the publisher's clock: the same machine) to the route in host 3's
# map (its mtime), then the reload that followed
echo "mail_domains n2.example.io,lists.n2.example.io" >>"$T/h2/mirrornetd.conf"
r0=$(json_val '.mail.reloads' on 3 status --json)
kill -HUP "${PID[2]}"
wait_for 30 "a domain added at host 2 (SIGHUP) reaches host 3's transport map" in_map transport lists.n2.example.io
ver=$(json_val --arg o "$(ns_mn_id 2 did)" '.[] | select(.key == "mail" and .origin == $o) | .version' on 3 records svc --json)
mt=$(( $(date -r "$T/h3/maps/transport" +%s%N) / 1000 ))
wait_for 30 "host 3 reloads its Postfix again" json_ok ".mail.reloads > $r0" on 3 status --json
rms=$(json_val '.mail.reload_ms' on 3 status --json)
[ -n "$ver" ] && echo "measured: svc mail published at host 2 -> route in host 3's map $(( (mt - ver) / 1000 )) ms, then postfix reload $rms ms"

# the member of scope n4.example.io: its domain relayed, gmail.com not
check "n4.example.io is relayed by host 3" in_map relay_domains n4.example.io
check "gmail.com (outside host 4's scope) is in no map of host 3" \
	sh -c "! grep -q gmail '$T/h3/maps/relay_domains' '$T/h3/maps/transport'"
check "host 3 counts the domain out of scope" json_ok '.mail.out_of_scope >= 1' on 3 status --json
check "mail list at host 3: gmail.com not in scope, not relayed" \
	json_ok '.domains | map(select(.domain == "gmail.com")) | length == 1 and all(.[]; .in_scope == false and .relayed_here == false)' \
	on 3 mail list --json

# ---- the primary down: mail from the WAN waits in the backup's queue ----
send() {   # send TO SUBJECT: swaks from host 1's underlay address (outside mynetworks) to host 3
	ns_exec 1 swaks --server "$U.3" --port 25 --from "sender@outside.example" --to "$1" \
		--h-Subject "$2" --body "mirrornet mail test $2" --timeout 20 >"$T/swaks.$2" 2>&1
}
SUBJ=mn-mail-$$
check "swaks from the WAN: host 3 accepts mail for user@n2.example.io" send user@n2.example.io "$SUBJ"
queued() { pf 3 postqueue -p 2>&1 | grep -q "10.42.0.2.*refused\|connect to 10.42.0.2"; }
wait_for 30 "the mail waits in host 3's queue (host 2's Postfix down)" queued
if send someone@gmail.com "$SUBJ-gmail"; then
	bad "host 3 relayed mail for gmail.com"; _t_show "$T/swaks.$SUBJ-gmail"
else
	grep -q "Relay access denied" "$T/swaks.$SUBJ-gmail" && ok "host 3 refuses to relay gmail.com (Relay access denied)" ||
		{ bad "gmail.com refused, but not for relaying"; _t_show "$T/swaks.$SUBJ-gmail"; }
fi

# ---- MX records: the primary, then the backup ----
check "mail mx n2.example.io at host 1: primary 10, then the backup 20" \
	json_ok '[.mx[] | "\(.priority) \(.host)"] == ["10 mx.n2.example.io", "20 mx.n3.example.io"]' \
	on 1 mail mx n2.example.io --json
on 1 mail mx N2.Example.IO. >"$T/mx.txt" 2>&1
check "mail mx (text, the name as typed): zone-file lines, primary first" \
	sh -c "grep -A1 -x 'n2.example.io. IN MX 10 mx.n2.example.io.' '$T/mx.txt' | grep -qx 'n2.example.io. IN MX 20 mx.n3.example.io.'"
on 3 mail list >"$T/list.txt" 2>&1
check "mail list (text) at host 3: n2.example.io relayed here, gmail.com not in scope" \
	sh -c "grep -Eq '^n2\.example\.io +peer +10\.42\.0\.2 +25 +10 +yes +yes' '$T/list.txt' && grep -Eq '^gmail\.com +peer +10\.42\.0\.4 +25 +10 +no +no' '$T/list.txt'"
if on 1 mail mx gmail.com >"$T/mx.gmail" 2>&1; then bad "an MX for gmail.com"; _t_show "$T/mx.gmail"
else ok "no MX for gmail.com (outside its claimant's scope): $(head -1 "$T/mx.gmail")"; fi
zone_mx() { grep -qP '^n2\t\d+\tIN\tMX\t10 mx\.n2\.example\.io\.$' "$T/h1/dns/example.io.zone" &&
	grep -qP '^n2\t\d+\tIN\tMX\t20 mx\.n3\.example\.io\.$' "$T/h1/dns/example.io.zone"; }
wait_for 20 "Vortex's zone example.io holds both MX records of n2" zone_mx
check "... and none for gmail.com" sh -c "! grep -q gmail '$T/h1/dns/example.io.zone'"

# ---- the primary back: delivered, the queue empty ----
check "host 2's Postfix starts" pf_start 2
tb=$(_t_us)
delivered() { grep -rqs "Subject: $SUBJ\$" "$T/h2/mail/user/new"; }
wait_for 60 "the queued mail is delivered to host 2's Maildir" delivered
td=$(_t_us)
echo "measured: mail delivered $(( (td - tb) / 1000 )) ms after the primary's Postfix started (queue_run_delay 1s, backoff 1-2s)"
wait_for 20 "host 3's queue is empty" pf_queue_empty 3
check "host 3's log: relayed to host 2 over the mesh" grep -q "relay=10.42.0.2\[10.42.0.2\]:25.*status=sent" "$T/h3/maillog"

# ---- revocation: host 4's domains leave the maps ----
check "the root revokes host 4" on 1 revoke "$(ns_mn_id 4 did)" --reason test
gone_map() { ! in_map relay_domains n4.example.io && ! in_map transport n4.example.io; }
wait_for 30 "n4.example.io leaves host 3's maps" gone_map
check "n2.example.io stays" in_map transport n2.example.io

# ---- the primary's whole box down, then back: the backup flushes at once ----
# Postfix's default retry times on the backup now: only mail_flush (postqueue -f,
# on SWIM's alive after left) gets the mail there within the wait below
need pf 3 postconf -e queue_run_delay=300s minimal_backoff_time=300s maximal_backoff_time=4000s
need pf 3 postfix reload
unwatch_pid "${PID[2]}"
check "host 2's mirrornetd stops (SIGTERM: it says goodbye)" stop_pid "${PID[2]}" 10
pf 2 postfix stop >/dev/null 2>&1
wait_for 30 "host 3 sees host 2 left" state_is 3 "$(ns_mn_id 2 did)" left
SUBJ2=$SUBJ-2
check "swaks from the WAN: host 3 accepts a second mail for user@n2.example.io" send user@n2.example.io "$SUBJ2"
wait_for 30 "it waits in host 3's queue" queued
f0=$(json_val '.mail.flushes' on 3 status --json)
check "host 2's Postfix starts again" pf_start 2
wait_for 20 "host 2's Postfix listens" pf_up 2
tb=$(_t_us)
ns_mn_start 2 || fatal "restart of host 2's mirrornetd"
PID[2]=$SPAWNED
watch_pid "$SPAWNED" "mirrornetd in host 2" "$T/h2/log"
delivered2() { grep -rqs "Subject: $SUBJ2\$" "$T/h2/mail/user/new"; }
wait_for 60 "host 2 back: the second mail is delivered (host 3 flushed its queue)" delivered2
td2=$(_t_us)
echo "measured: host 2's mirrornetd started -> the queued mail in its Maildir $(( (td2 - tb) / 1000 )) ms (backup's retry 300 s: the flush on SWIM's alive)"
check "host 3 counted the flush" json_ok ".mail.flushes > $f0" on 3 status --json
wait_for 20 "host 3's queue is empty again" pf_queue_empty 3

# ---- the mailbox backup: a scheduled push through the backup subsystem ----
# (every minute, from the minute after the start: at most ~60 s from here)
# a snapshot made after the delivery (created: unix s), held with receipts
DS=$(( td / 1000000 ))
mail_snap() {
	json_ok --argjson t "$DS" 'map(select(.name == "mail" and .created > $t and .copies == 2)) | length >= 1' \
		on 2 backup list --json
}
wait_for 150 "host 2's mailboxes are pushed as snapshot 'mail', held by 2 peers with receipts" mail_snap
SNAP=$(json_val --argjson t "$DS" 'map(select(.name == "mail" and .created > $t and .copies == 2)) | .[0].snapshot' \
	on 2 backup list --json)
expect 0 "host 2 pulls its mailbox snapshot back" on 2 backup pull "$SNAP" --out "$T/mail.tar" --json --timeout 60
check "... and it holds the delivered mail" sh -c "tar -xOf '$T/mail.tar' --wildcards './user/new/*' | grep -q 'Subject: $SUBJ'"
finish
