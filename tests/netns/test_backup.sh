#!/bin/bash
# Mesh backup over real WireGuard (wireguard-go), four hosts in network
# namespaces (docs/backup.md): host 2 pushes a 4 MiB file; it is held by
# two others on their mesh addresses (the bulk channel inside the tunnel),
# as ciphertext; the host with no copy pulls it with the recovery key,
# byte-identical; a holder killed for good is replaced by the remaining
# host (k copies again, with receipts). Needs root, iproute2, wireguard-go.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd wireguard-go jq cmp
B=${MN_BUILD:?}
K=4
tmpdir mn-backup-ns
ns_init "$K" || fatal "namespaces"
ns_mn_keys "$K" || fatal "keys and certificates"
need "$B/mirrornetctl" backup recovery-key --out "$T/recovery.key" > "$T/recovery.txt"
RPUB=$(head -1 "$T/recovery.txt")
declare -A PID
for i in $(seq 1 "$K"); do
	ns_wg_up "$i" || fatal "wireguard-go in host $i"
	{
		ns_mn_star "$i" "$K"
		echo "backup_dir $T/h$i/backup"
		echo "backup_offer 67108864"
		echo "backup_dead_grace_s 3"
		echo "backup_recovery_key $RPUB"
	} > "$T/h$i/mirrornetd.conf"
	ns_mn_start "$i" || fatal "config or start of host $i"
	PID[$i]=$SPAWNED
	watch_pid "$SPAWNED" "mirrornetd in host $i" "$T/h$i/log"
done
all_alive() { local i; for i in $(seq 1 "$K"); do alive_ge "$i" $((K - 1)) || return 1; done; }
wait_for 90 "$K hosts over WireGuard see each other alive" all_alive
offers() { json_ok "map(select(.key == \"backup\")) | length == $K" on 2 records svc --json; }
wait_for 30 "host 2 sees the $K offers" offers
check "the offer names the mesh address (inside the tunnel)" \
	json_ok 'map(select(.key == "backup")) | all(.body.endpoint | startswith("10.42.0."))' on 2 records svc --json

MARK=MN-NETNS-PLAINTEXT-7f3e
{ for _ in $(seq 1 1000); do echo "$MARK"; done; head -c 4194304 /dev/urandom; } > "$T/plain.bin"
t0=$(_t_us)
expect 0 "host 2 pushes 4 MiB over WireGuard" on 2 backup push "$T/plain.bin" --name cfg --json --timeout 120
t1=$(_t_us)
check "two holders gave receipts" json_ok '.state == "done" and .holders == 2' cat "$OUT"
SNAP=$(jq -r .snapshot "$OUT")
echo "  (push of 4 MiB to 2 holders: $(( (t1 - t0) / 1000 )) ms, including the CLI's polling)"
OWNER=$(ns_mn_id 2 public_key)
HASH=$(json_val --arg s "$SNAP" '.[] | select(.snapshot == $s) | .hash' on 2 backup list --json)
host_of() { local i; for i in $(seq 1 "$K"); do [ "$(ns_mn_id "$i" public_key)" = "$1" ] && echo "$i"; done; }
mapfile -t H < <(json_val --arg s "$SNAP" '.[] | select(.snapshot == $s) | .holders[].node' on 2 backup list --json)
H1=$(host_of "${H[0]}") H2=$(host_of "${H[1]}")
P=""
for i in 1 3 4; do [ "$i" != "$H1" ] && [ "$i" != "$H2" ] && P=$i; done
[ -n "$H1" ] && [ -n "$H2" ] && [ -n "$P" ] && ok "holders host $H1 and host $H2, host $P has no copy" || fatal "holders '${H[*]}'"
for h in "$H1" "$H2"; do
	f=$T/h$h/backup/held/$OWNER/$HASH
	[ "$(head -c 4 "$f" 2>/dev/null)" = MNBK ] && [ "$(stat -c %a "$f")" = 600 ] \
		&& ok "host $h holds the ciphertext (MNBK, 0600)" || bad "host $h: $f"
	grep -qF "$MARK" "$f" && bad "host $h's copy contains the plaintext marker" || ok "host $h's copy has no plaintext"
done
t0=$(_t_us)
expect 0 "host $P pulls it with the recovery key" on "$P" backup pull "$SNAP" --out "$T/pulled.bin" --key "$T/recovery.key" --json --timeout 120
t1=$(_t_us)
check "pulled bytes identical" cmp "$T/plain.bin" "$T/pulled.bin"
echo "  (pull of 4 MiB: $(( (t1 - t0) / 1000 )) ms, including the CLI's polling)"

# a holder killed for good: replaced by host P
unwatch_pid "${PID[$H1]}"
kill -KILL "${PID[$H1]}"
wait_for 40 "host $H1 killed: dead on host 2" state_is 2 "$(ns_mn_id "$H1" did)" dead
replaced() {
	json_ok --arg s "$SNAP" --arg k "${H[0]}" --arg p "$(ns_mn_id "$P" public_key)" \
		'.[] | select(.snapshot == $s) | (.holders | length) == 2 and all(.holders[]; .receipt and .node != $k) and any(.holders[]; .node == $p)' \
		on 2 backup list --json
}
wait_for 60 "host 2 re-replicates to host $P: 2 holders with receipts again" replaced
cmp -s "$T/h$P/backup/held/$OWNER/$HASH" "$T/h$H2/backup/held/$OWNER/$HASH" \
	&& ok "host $P's new copy is the same ciphertext" || bad "host $P's copy differs"
finish
