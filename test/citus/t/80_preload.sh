#!/usr/bin/env bash
# test/citus/t/80_preload.sh: the preload order. With shared_preload_libraries = 'tenant_iso,citus'
# the server does not start, and says why in tenant_iso's words; 'citus,tenant_iso' is what the
# cluster of this suite runs with.
source "$(dirname "$0")/../lib.sh"
DB=postgres

is "$(q c postgres <<<"SHOW shared_preload_libraries;")" "citus,tenant_iso" "the cluster runs with citus first, then tenant_iso"

dir=$TIC_TMP/preload
port=$((TI_CITUS_PORT + 4))
rm -rf "$dir" "$TIC_TMP/preload.log"
tic_as_server "$TIC_BIN/initdb" -D "$dir" -U postgres -A trust --no-sync -E UTF8 --locale=C >/dev/null 2>&1
cat <<CONF | tic_as_server tee -a "$dir/postgresql.conf" >/dev/null
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$TIC_TMP/sock'
shared_preload_libraries = 'tenant_iso,citus'
CONF
tic_as_server "$TIC_BIN/pg_ctl" -D "$dir" -l "$TIC_TMP/preload.log" -w -t 30 start >/dev/null 2>&1
started=$?
if [ $started -eq 0 ]; then tic_as_server "$TIC_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1; fi
ok $((started == 0)) "with shared_preload_libraries = 'tenant_iso,citus' the server does not start"
log=$(cat "$TIC_TMP/preload.log")
like "$log" "FATAL:  tenant_iso must follow citus in shared_preload_libraries" "... refused by tenant_iso ..."
like "$log" "HINT:  Set shared_preload_libraries = 'citus,tenant_iso' and restart the server." "... with the order that works"
rm -rf "$dir"

done_testing
