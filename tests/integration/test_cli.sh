#!/bin/bash
# mirrornetctl as a user runs it: keygen vectors, key file safety, signing
# and showing records, certificate chains, the offline store, exit codes.
. "$(dirname "$0")/../lib.sh"
B=${MN_BUILD:?}/mirrornetctl
tmpdir mn-cli-test

# keygen: the W3C vector for seed 0…01, deterministic, JSON form
expect 0 "keygen --seed" "$B" keygen --seed 0000000000000000000000000000000000000000000000000000000000000001
has "vector 1" '^did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG$'
expect 0 "keygen --json" "$B" keygen --json --seed 0000000000000000000000000000000000000000000000000000000000000000
has "json did" '"did":"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"'
has "json pk" '"public_key":"3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"'
expect 2 "short seed" "$B" keygen --seed 00ff
has "seed message" '64 hex digits'
expect 2 "non-hex seed" "$B" keygen --seed zz00000000000000000000000000000000000000000000000000000000000001
expect 2 "unknown option" "$B" keygen --bogus
expect 2 "unknown command" "$B" frobnicate
expect 2 "no command" "$B"
expect 0 "help" "$B" --help

# key files: 0600, never overwritten, readable-file warning
umask 022
expect 0 "keygen --out" "$B" keygen --out "$T/root.key"
[ "$(stat -c %a "$T/root.key")" = 600 ] && ok "key file mode 0600" || bad "key file mode $(stat -c %a "$T/root.key")"
cp "$T/root.key" "$T/root.copy"
expect 1 "keygen refuses to overwrite" "$B" keygen --out "$T/root.key"
has "exists message" 'exist'
cmp -s "$T/root.key" "$T/root.copy" && ok "the existing key file is unchanged" || bad "existing key file changed"
ROOT=$("$B" keygen --seed 1111111111111111111111111111111111111111111111111111111111111111 --out "$T/r.key")
SUB=$("$B" keygen --seed 2222222222222222222222222222222222222222222222222222222222222222 --out "$T/s.key")
PEER=$("$B" keygen --seed 3333333333333333333333333333333333333333333333333333333333333333 --out "$T/p.key")
OTHER=$("$B" keygen --seed 4444444444444444444444444444444444444444444444444444444444444444)

# records: sign, show, verify; bad bodies get a field-level message
expect 0 "record sign" "$B" record sign svc mail --key "$T/p.key" --out "$T/mail.rec" \
	--body '{"service":"mail","endpoint":"mx.node1.example.io","port":25,"attrs":[{"k":"prio","v":"10"}]}'
expect 0 "record show" "$B" record show "$T/mail.rec"
has "show kind" '"kind": "svc"'
has "show origin" "\"origin\": \"$PEER\""
has "show body" '"endpoint": "mx.node1.example.io"'
expect 0 "record show --json" "$B" record show --json "$T/mail.rec"
has "json array" '^\['
expect 2 "unknown field" "$B" record sign svc x --key "$T/p.key" --out "$T/x.rec" --body '{"service":"a","bogus":1}'
has "unknown field named" 'bogus: unknown field'
expect 2 "too long" "$B" record sign svc x --key "$T/p.key" --out "$T/x.rec" --body "{\"service\":\"$(printf 'a%.0s' $(seq 40))\"}"
has "length named" 'service: string longer than 31'
expect 2 "bad enum" "$B" record sign ioc b1 --key "$T/p.key" --out "$T/x.rec" --body '{"iocs":[{"scope":"planet","value":"x"}]}'
has "enum named" 'iocs\[0\]\.scope: unknown value'
expect 2 "rule broken" "$B" record sign ioc b1 --key "$T/p.key" --out "$T/x.rec" --body '{"iocs":[{"scope":"ip","value":"1.2.3"}]}'
has "rule message" 'invalid field value'
expect 2 "not json" "$B" record sign svc x --key "$T/p.key" --out "$T/x.rec" --body '{nope'
expect 2 "unknown kind" "$B" record sign blob x --key "$T/p.key" --out "$T/x.rec" --body '{}'
[ ! -e "$T/x.rec" ] && ok "a failed sign leaves no file" || bad "a failed sign left a file"
expect 1 "missing key file" "$B" record sign svc x --key "$T/none.key" --out "$T/x.rec" --body '{"service":"a"}'
has "missing key message" 'No such file'
chmod 644 "$T/p.key"
expect 0 "readable key works" "$B" record sign svc web --key "$T/p.key" --out "$T/web.rec" --body '{"service":"web","port":80}'
has "readable key warning" 'warning: key file .* accessible'
chmod 600 "$T/p.key"
expect 0 "tombstone" "$B" record sign svc web --tombstone --key "$T/p.key" --out "$T/web.del"
# a flipped byte fails verification (exit 4), garbage too
cp "$T/mail.rec" "$T/bad.rec"
printf '\x01' | dd of="$T/bad.rec" bs=1 seek=40 conv=notrunc status=none
expect 4 "tampered record" "$B" record show "$T/bad.rec"
head -c 100 /dev/urandom > "$T/garbage.rec"
expect 4 "garbage record" "$B" record show "$T/garbage.rec"
has "garbage message" 'not a valid record'

# certificates: root → sub-master → peer
expect 0 "issue sub" "$B" cert issue --key "$T/r.key" --subject "$SUB" --role sub-master --depth 1 \
	--max-depth 3 --scope node1.example.io --addr 10.42.0.2 --out "$T/sub.cert"
expect 0 "issue peer" "$B" cert issue --key "$T/s.key" --subject "$PEER" --depth 2 \
	--scope x.node1.example.io --addr 10.42.0.3 --out "$T/peer.cert"
expect 0 "verify chain" "$B" cert verify --root "$ROOT" --node "$PEER" "$T/sub.cert" "$T/peer.cert"
has "verify says" 'valid: role peer, depth 2 of 3'
expect 0 "verify --json" "$B" cert verify --json --root "$ROOT" --node "$PEER" "$T/sub.cert" "$T/peer.cert"
has "json valid" '"valid": true'
expect 4 "wrong root" "$B" cert verify --root "$OTHER" --node "$PEER" "$T/sub.cert" "$T/peer.cert"
has "wrong root message" 'invalid: '
expect 4 "missing link" "$B" cert verify --root "$ROOT" --node "$PEER" "$T/peer.cert"
expect 0 "issue out of scope" "$B" cert issue --key "$T/s.key" --subject "$OTHER" --depth 2 --scope other.io --out "$T/bad.cert"
expect 4 "scope outside parent" "$B" cert verify --root "$ROOT" --node "$OTHER" "$T/sub.cert" "$T/bad.cert"
has "scope message" 'scope'
expect 2 "depth above max" "$B" cert issue --key "$T/r.key" --subject "$SUB" --depth 4 --max-depth 3 --out "$T/x.cert"
expect 2 "bad scope" "$B" cert issue --key "$T/r.key" --subject "$SUB" --scope 'Bad_Name.' --out "$T/x.cert"

# mesh addresses handed out from the address plan, no collisions
expect 0 "auto address 1" "$B" cert issue --key "$T/r.key" --subject "$SUB" --addr auto --db "$T/plan.db" --out "$T/a1.cert" --json
has "first address" '"mesh_addr": "10.42.0.1"'
"$B" store put --db "$T/plan.db" "$T/a1.cert" >/dev/null
expect 0 "auto address 2" "$B" cert issue --key "$T/r.key" --subject "$PEER" --addr auto --db "$T/plan.db" --out "$T/a2.cert" --json
has "next address" '"mesh_addr": "10.42.0.2"'
expect 0 "auto address, v6 plan" "$B" cert issue --key "$T/r.key" --subject "$PEER" --addr auto --subnet fd42:4242::/64 --db "$T/plan.db" --out "$T/a3.cert" --json
has "v6 address" '"mesh_addr": "fd42:4242::1"'
expect 2 "auto without a store" "$B" cert issue --key "$T/r.key" --subject "$PEER" --addr auto --out "$T/a4.cert"
expect 2 "bad subnet" "$B" cert issue --key "$T/r.key" --subject "$PEER" --addr auto --subnet 10.42.0.1/16 --db "$T/plan.db" --out "$T/a4.cert"

# the offline store
expect 0 "store put" "$B" store put --db "$T/s.db" "$T/mail.rec" "$T/web.rec" "$T/sub.cert"
has "inserted" 'inserted'
expect 0 "store put newer tombstone" "$B" store put --db "$T/s.db" "$T/web.del"
has "replaced" 'replaced'
expect 0 "store put older again" "$B" store put --db "$T/s.db" "$T/web.rec"
has "older" 'older'
expect 0 "store list" "$B" store list --db "$T/s.db"
has "list svc" '^svc .* mail'
has "list tombstone" 'web .*tombstone'
expect 0 "store list --kind cert --json" "$B" store list --db "$T/s.db" --kind cert --json
has "list cert json" '"kind": "cert"'
expect 0 "store check" "$B" store check --db "$T/s.db"
has "check count" 'ok: 3 records'
expect 4 "store put tampered" "$B" store put --db "$T/s.db" "$T/bad.rec"
head -c 8192 /dev/urandom > "$T/junk.db"
cp "$T/junk.db" "$T/junk.copy"
expect 4 "garbage db" "$B" store check --db "$T/junk.db"
cmp -s "$T/junk.db" "$T/junk.copy" && ok "a failed open leaves the file as it was" || bad "a failed open changed the file"

finish
