# A private CrowdSec LAPI (crowdsec 1.4.6 from Debian), offline: its own
# config and data directories, no central API, no agent (-no-cs).
# Sourced by the ioc tests. Functions:
#   cs_setup DIR ADDR:PORT    config in DIR; machine "mirrornet" (password in
#                             DIR/password, 0600), bouncer key in DIR/bouncer.key (0600)
#   cs_start DIR [NS]         start the LAPI (inside netns NS if given); pid in DIR/pid
#   cs_stop DIR               stop it (only the pid we started)
#   cscli_ DIR [NS] ARGS...   cscli against it
cs_setup() {
	local dir=$1 listen=$2
	mkdir -p "$dir/data" "$dir/hub" "$dir/log"
	cp /etc/crowdsec/profiles.yaml /etc/crowdsec/simulation.yaml "$dir/"
	printf 'url: http://%s\nlogin: cs-admin\npassword: %s\n' "$listen" \
		"$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$dir/local_api_credentials.yaml"
	cat > "$dir/config.yaml" <<YAML
common:
  daemonize: false
  log_media: file
  log_level: info
  log_dir: $dir/log/
  working_dir: .
config_paths:
  config_dir: $dir/
  data_dir: $dir/data/
  simulation_path: $dir/simulation.yaml
  hub_dir: $dir/hub/
  index_path: $dir/hub/.index.json
  notification_dir: $dir/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
cscli:
  output: human
db_config:
  log_level: info
  type: sqlite
  db_path: $dir/data/crowdsec.db
  use_wal: false
api:
  client:
    insecure_skip_verify: false
    credentials_path: $dir/local_api_credentials.yaml
  server:
    log_level: info
    listen_uri: $listen
    profiles_path: $dir/profiles.yaml
    trusted_ips:
      - 127.0.0.1
prometheus:
  enabled: false
YAML
	local pw
	pw=$(awk '/^password:/ {print $2}' "$dir/local_api_credentials.yaml")
	cscli -c "$dir/config.yaml" machines add cs-admin --password "$pw" --force >/dev/null 2>&1 || return 1
	pw=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	cscli -c "$dir/config.yaml" machines add mirrornet --password "$pw" --force -f /dev/null >/dev/null 2>&1 || return 1
	(umask 077; printf '%s\n' "$pw" > "$dir/password")
	(umask 077; cscli -c "$dir/config.yaml" bouncers add mirrornet -o raw > "$dir/bouncer.key") || return 1
}

cs_start() {
	local dir=$1 ns=${2:-}
	if [ -n "$ns" ]; then
		ip netns exec "$ns" crowdsec -c "$dir/config.yaml" -no-cs >"$dir/log/stdout" 2>&1 &
	else
		crowdsec -c "$dir/config.yaml" -no-cs >"$dir/log/stdout" 2>&1 &
	fi
	echo $! > "$dir/pid"
}

cs_stop() {
	local dir=$1 pid
	pid=$(cat "$dir/pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	rm -f "$dir/pid"
}

cscli_() {
	local dir=$1 ns=$2; shift 2
	if [ -n "$ns" ]; then
		ip netns exec "$ns" cscli -c "$dir/config.yaml" "$@"
	else
		cscli -c "$dir/config.yaml" "$@"
	fi
}
