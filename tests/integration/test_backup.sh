#!/bin/bash
# Mesh backup (docs/backup.md) with real daemons on loopback: five boxes,
# node1 the root, all offering space, node2 the owner. A 6 MiB file pushed
# from node2 is held by two others (only ciphertext on their disks, 0600)
# and pulled byte-identical on a box that holds no copy; the copy of the
# holder a pull tries first is corrupted: the pull detects it and takes the
# other; a PUT from a stranger, over quota or with a wrong hash, and a
# snapshot name with ../ are refused, counted, and leave nothing; a holder
# killed for good is replaced (k copies again, with receipts); node2
# destroyed (its key lost): a fresh box that joins restores the snapshot
# with the recovery key, byte-identical, and cannot with its own key.
# Every daemon is stopped by PID and the directory removed, even on failure.
. "$(dirname "$0")/../lib.sh"
B=${MN_BUILD:?}
S=${MN_SOURCE:?}
need_cmd jq cmp
tmpdir mn-backup-test
N=5
# gossip on BASE+i, the backup channel on BASE+10+i (below the ephemeral ports)
BASE=$(( 21000 + ($$ % 500) * 20 ))
ctl="$B/mirrornetctl"
MN_SOCKETS=$T/node%s/api.sock
mesh() { MN_BUILD=$B "$S/tools/mesh" "$@" -d "$T" -b "$B"; }
at_exit 'mesh stop >/dev/null 2>&1'
bk() { json_val "$2" on "$1" status --json | head -1; }        # bk NODE FILTER (on .backup)
refused() { json_val ".backup.refused.$2" on "$1" status --json; }
start_node() { "$B/mirrornetd" -c "$T/node$1/mirrornetd.conf" >> "$T/node$1/log" 2>&1 & echo $! > "$T/node$1/pid"; }

# the recovery key, made offline; its public half in the owner's config
need "$ctl" backup recovery-key --out "$T/recovery.key" > "$T/recovery.txt"
RPUB=$(head -1 "$T/recovery.txt")
[ "$(stat -c %a "$T/recovery.key")" = 600 ] && ok "recovery key file 0600" || bad "recovery key mode $(stat -c %a "$T/recovery.key")"
conf_backup() {   # conf_backup I: node I's backup options
	cat <<EOC
backup_dir $T/node$1/backup
backup_offer 67108864
backup_quota 12582912
backup_port $((BASE + 10 + $1))
backup_dead_grace_s 3
backup_recovery_key $RPUB
EOC
}
for i in $(seq 1 $N); do mkdir -p "$T/node$i"; conf_backup "$i" > "$T/node$i/extra.conf"; done
mesh start -n $N -p $BASE > "$T/start.log" 2>&1 || { cat "$T/start.log"; fatal "mesh start"; }
for i in $(seq 1 $N); do watch_pid "$(cat "$T/node$i/pid")" "node$i" "$T/node$i/log"; done
all_alive() { for i in $(seq 1 $N); do alive_ge "$i" $((N - 1)) || return 1; done; }
wait_for 60 "$N daemons converge" all_alive
offers_on() { json_ok "map(select(.key == \"backup\")) | length == $2" on "$1" records svc --json; }
wait_for 30 "node2 sees the $N offers (svc backup)" offers_on 2 $N
check "backup is on in status" json_ok '.backup.enabled and .backup.offer == 67108864' on 2 status --json
# a node's key in hex, from its key file's seed
pk_of() { "$ctl" keygen --json --seed "$(sed -n 2p "$T/node$1/node.key")" | jq -r .public_key; }
for i in $(seq 1 $N); do pk_of "$i" > "$T/node$i/pk"; done
node_of() { local i; for i in $(seq 1 $N); do [ "$(cat "$T/node$i/pk")" = "$1" ] && echo "$i"; done; }

# ---- push 6 MiB ----
MARK=MN-PLAINTEXT-MARKER-b4c5
{ for _ in $(seq 1 2000); do echo "$MARK config line"; done; head -c 6291456 /dev/urandom; } > "$T/plain.bin"
expect 0 "push 6 MiB from node2" on 2 backup push "$T/plain.bin" --name cfg --json --timeout 120
check "the push is done" json_ok '.state == "done" and .holders == 2' cat "$OUT"
SNAP=$(jq -r .snapshot "$OUT")
OWNER=$(cat "$T/node2/pk")
check "the record lists 2 holders, each with a valid receipt" \
	json_ok --arg s "$SNAP" '.[] | select(.snapshot == $s) | (.holders | length) == 2 and all(.holders[]; .receipt and .member) and .missing == 0' on 2 backup list --json
holders() { json_val --arg s "$SNAP" '.[] | select(.snapshot == $s) | .holders[].node' on "$1" backup list --all --json; }
mapfile -t H < <(holders 2)
H1=$(node_of "${H[0]}") H2=$(node_of "${H[1]}")
{ [ -n "$H1" ] && [ -n "$H2" ] && [ "$H1" != 2 ] && [ "$H2" != 2 ] && [ "$H1" != "$H2" ]; } \
	&& ok "the holders are node$H1 and node$H2 (never the owner)" || fatal "holders: '${H[*]}' -> '$H1' '$H2'"
# the puller: a box with no copy, not the owner
P=""
for i in 1 3 4 5; do [ "$i" != "$H1" ] && [ "$i" != "$H2" ] && P=$i && break; done
blob() { echo "$T/node$1/backup/held/$OWNER/$(json_val --arg s "$SNAP" '.[] | select(.snapshot == $s) | .hash' on 2 backup list --json)"; }

# ---- holders' disks: ciphertext only, 0600 ----
for h in "$H1" "$H2"; do
	f=$(blob "$h")
	[ -f "$f" ] && ok "node$h holds the blob" || bad "node$h: no $f"
	[ "$(stat -c %a "$f" 2>/dev/null)" = 600 ] && ok "node$h's blob is 0600" || bad "node$h's blob mode $(stat -c %a "$f" 2>/dev/null)"
	[ "$(head -c 4 "$f" 2>/dev/null)" = MNBK ] && ok "node$h's blob is an MNBK container" || bad "node$h's blob does not start MNBK"
done
if grep -rqF "$MARK" "$T"/node{1,3,4,5}/backup 2>/dev/null; then bad "the plaintext marker is in a file under a holder's backup_dir"
else ok "no holder file contains the plaintext marker"; fi
check "node2's own copy is ciphertext too" sh -c "! grep -rqF '$MARK' '$T/node2/backup'"

# ---- pull on another box with the recovery key ----
expect 0 "pull on node$P (no copy there) with the recovery key" on "$P" backup pull "$SNAP" --out "$T/pulled1.bin" --key "$T/recovery.key" --json --timeout 120
check "pulled bytes identical" cmp "$T/plain.bin" "$T/pulled1.bin"
expect 1 "pull on node$P with its own node key is refused (not a recipient)" on "$P" backup pull "$SNAP" --out "$T/nokey.bin" --timeout 60
has "says the key is not one it was sealed to" "not one the snapshot was sealed to"
[ ! -e "$T/nokey.bin" ] && ok "a refused pull writes nothing" || bad "a refused pull wrote $T/nokey.bin"

# ---- the first holder's copy corrupted: detected, the other used ----
F1=$(blob "$H1")
cp "$F1" "$T/h1.save"
printf '\x5a' | dd of="$F1" bs=1 seek=3000000 conv=notrunc status=none
cmp -s "$F1" "$T/h1.save" && fatal "corrupting node$H1's copy"
fb0=$(bk "$P" .backup.pull_fallbacks)
expect 0 "pull again on node$P: node$H1's copy (tried first) is corrupt" on "$P" backup pull "$SNAP" --out "$T/pulled2.bin" --key "$T/recovery.key" --json --timeout 120
check "the pull used the other holder: bytes identical" cmp "$T/plain.bin" "$T/pulled2.bin"
check "the bad copy was detected (pull_fallbacks counted)" json_ok ".backup.pull_fallbacks == $fb0 + 1" on "$P" status --json
grep -q "fetching $SNAP from .* failed" "$T/node$P/log" && ok "node$P logs the bad copy and moves on" || bad "no fallback line in node$P's log"
cp "$T/h1.save" "$F1"

# ---- refusals through the daemon: counted, nothing written ----
HP=$((BASE + 10 + H2))
held_files() { find "$T/node$H2/backup/held" -type f | sort; }
held_files > "$T/held.before"
head -c 1048576 /dev/urandom > "$T/small.bin"
expect 3 "a stranger's PUT to node$H2 is refused" "$B/tests/mn_bkput" stranger "127.0.0.1:$HP" "$(cat "$T/node$H2/did")" "$T/small.bin"
has "... as not_member" "refused not_member"
check "... and counted" json_ok '.backup.refused.not_member == 1' on "$H2" status --json
expect 3 "a member's PUT with a wrong hash is refused" "$B/tests/mn_bkput" "$T/node$P/node.key" "127.0.0.1:$HP" "$(cat "$T/node$H2/did")" "$T/small.bin" "$(printf '%064d' 7)"
has "... as bad_hash" "refused bad_hash"
check "... and counted" json_ok '.backup.refused.bad_hash == 1' on "$H2" status --json
head -c 13631488 /dev/urandom > "$T/big.bin"
expect 3 "a member's PUT over backup_quota (13 MiB > 12 MiB) is refused" "$B/tests/mn_bkput" "$T/node$P/node.key" "127.0.0.1:$HP" "$(cat "$T/node$H2/did")" "$T/big.bin"
has "... as quota" "refused quota"
check "... and counted" json_ok '.backup.refused.quota == 1' on "$H2" status --json
held_files > "$T/held.after"
check "nothing was written on node$H2 by the refused PUTs" cmp "$T/held.before" "$T/held.after"
expect 0 "a member's good PUT to node$H2 is stored (the tool works)" "$B/tests/mn_bkput" "$T/node$P/node.key" "127.0.0.1:$HP" "$(cat "$T/node$H2/did")" "$T/small.bin"
has "... with a valid receipt" "stored \(receipt valid\)"
expect 2 "a push named ../x is refused by the API (invalid)" on 2 backup push "$T/small.bin" --name ../x --json
has "... naming the rule" "name: "
ls "$T/node2/backup/own" > "$T/own.after"
[ "$(grep -c . "$T/own.after")" = 1 ] && ok "nothing was encrypted for it (own/ holds the one snapshot)" || bad "own/: $(cat "$T/own.after")"
[ ! -e "$T/node2/x" ] && [ ! -e "$T/node2/backup/x" ] && ok "no file named x outside" || bad "a file x was written"

# ---- a holder stopped for good: replaced ----
PH1=$(cat "$T/node$H1/pid")
unwatch_pid "$PH1"
kill -KILL "$PH1"; rm -f "$T/node$H1/pid"
D1=$(cat "$T/node$H1/did")
wait_for 40 "node$H1 killed: dead on node2" state_is 2 "$D1" dead
replaced() {
	json_ok --arg s "$SNAP" --arg k "$(cat "$T/node$H1/pk")" \
		'.[] | select(.snapshot == $s) | (.holders | length) == 2 and all(.holders[]; .receipt and .member and .node != $k) and .missing == 0' \
		on 2 backup list --json
}
wait_for 60 "node2 re-replicates: 2 holders with receipts, node$H1 not among them" replaced
check "status counts the re-replication" json_ok '.backup.replicated >= 1 and .backup.copies_missing == 0' on 2 status --json
mapfile -t H < <(holders 2)
N1=$(node_of "${H[0]}") N2=$(node_of "${H[1]}")
NEW=$N1; [ "$N1" = "$H2" ] && NEW=$N2
cmp -s "$(blob "$NEW")" "$(blob "$H2")" && ok "the new holder node$NEW has the same ciphertext" || bad "node$NEW's copy differs"

# ---- node2 destroyed: a new box restores with the recovery key ----
P2=$(cat "$T/node2/pid")
unwatch_pid "$P2"
kill -KILL "$P2"; rm -f "$T/node2/pid"
wait_for 10 "node2 is gone" gone "$P2"
rm -rf "$T/node2"
d=$T/node6
mkdir -p "$d"
"$ctl" keygen --out "$d/node.key" > "$d/did"
"$ctl" cert issue --key "$T/node1/node.key" --subject "$(cat "$d/did")" --depth 1 --addr 10.42.0.6 \
	--out "$d/node.cert" >/dev/null
{
	echo "name node6"; echo "key $d/node.key"; echo "db $d/store.db"; echo "api $d/api.sock"
	echo "listen 127.0.0.1:$((BASE + 6))"; echo "root $(cat "$T/node1/did")"; echo "mesh_addr 10.42.0.6"
	echo "cert $d/node.cert"; echo "peer $(cat "$T/node1/did") 127.0.0.1:$((BASE + 1))"
	echo "peer $(cat "$T/node3/did") 127.0.0.1:$((BASE + 3))"
	echo "backup_dir $d/backup"; echo "backup_port $((BASE + 16))"
} > "$d/mirrornetd.conf"
start_node 6
watch_pid "$(cat "$d/pid")" node6 "$d/log"
has_snap() { json_ok --arg s "$SNAP" 'map(select(.snapshot == $s)) | length == 1' on 6 backup list --all --json; }
wait_for 60 "the new box (fresh key, joined) sees node2's snapshot" has_snap
t0=$(_t_us)
expect 0 "restore on the new box with the recovery key" on 6 backup restore "$SNAP" --owner "$OWNER" --key "$T/recovery.key" --out "$T/restored.bin" --json --timeout 120
t1=$(_t_us)
check "restored bytes identical" cmp "$T/plain.bin" "$T/restored.bin"
echo "   (restore of 6 MiB on a new box: $(( (t1 - t0) / 1000 )) ms)"
expect 1 "the new box's own key cannot open it" on 6 backup pull "$SNAP" --owner "$OWNER" --out "$T/own6.bin" --timeout 60
[ ! -e "$T/own6.bin" ] && ok "... and writes nothing" || bad "wrote $T/own6.bin"
finish
