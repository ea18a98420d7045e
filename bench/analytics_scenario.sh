# analytics_scenario.sh: bench/run's `analytics` scenario, sourced by
# bench/run (it uses its helpers: say, die, http, expect, login_token,
# stack_env, psql_at, warm_up, run_wrk, run_info, publish_section, int, ms,
# passfail, and its R array, WORK, STACK, BENCH, PYTHON, DURATION, WARMUP).
#
# 1. Replay: the events of ANALYTICS_ORDERS orders (bench/analytics_replay.py,
#    seeded) published while analytics-service is stopped and its database
#    dropped, then the service started: timed until every event is handled
#    and folded into the daily rows.
# 2. Year: ANALYTICS_YEAR_ORDERS orders over a year, published while the
#    service runs, then GET /reports/summary over that year with wrk.
# The other consumers of the same topics (product, order, notification) are
# stopped first and stay stopped: run this scenario last.
# analytics: events replayed into an empty analytics database, and the
# summary report over a year of pre-aggregated orders.
ANALYTICS_ORDERS=${BENCH_ANALYTICS_ORDERS:-10000}
ANALYTICS_YEAR_ORDERS=${BENCH_ANALYTICS_YEAR_ORDERS:-100000}
ANALYTICS_YEAR_END=${BENCH_ANALYTICS_YEAR_END:-2025-01-01}
ANALYTICS_CONNECTIONS=${BENCH_ANALYTICS_CONNECTIONS:-4 16}
ANALYTICS_TIMEOUT=${BENCH_ANALYTICS_TIMEOUT:-900} # seconds a replay may take
ANALYTICS_CHUNK=${BENCH_ANALYTICS_CHUNK:-20000}    # events published at a time (year)
TARGET_REPLAY_EPS=2000     # analytics: events/s into an empty database
TARGET_SUMMARY_P99_MS=50   # analytics: /reports/summary p99 over a year

# Generates the events of n orders over days days ending at end (exclusive;
# "" for today) into dir and replays them into analytics-service. fresh=1:
# into an empty database: the service is stopped, its database dropped, the
# events published, the service started, and the run timed from its start
# until it has handled them all and folded its journal. fresh=0: published
# while the service runs, ANALYTICS_CHUNK events at a time as it keeps up
# (the dev broker keeps only the last few MB of each partition).
analytics_replay() { # label orders days end fresh(0|1)
    local label=$1 n=$2 days=$3 end=$4 fresh=$5 dir=$WORK/analytics-$1 base=0 total t0 out
    local url=http://127.0.0.1:$ANALYTICS_PORT chunk=()
    "$PYTHON" "$BENCH/analytics_replay.py" generate --orders "$n" --days "$days" \
        ${end:+--end "$end"} --seed "$n" --dir "$dir" >"$dir.counts" || die "$label: generate failed"
    total=$(jq -er .total "$dir.counts") || die "$label: no event count"
    if ((fresh)); then
        "$STACK" stop-service analytics 9<&-
        psql_at "$(stack_env ANALYTICS_DATABASE_URL | sed 's#/souk_analytics$#/postgres#')" \
            "DROP DATABASE souk_analytics" >/dev/null
        "$STACK" pg-up 9<&- >/dev/null
    else
        base=$("$PYTHON" "$BENCH/analytics_replay.py" handled --metrics "$url") || die "$label: no metrics"
        chunk=(--chunk "$ANALYTICS_CHUNK" --metrics "$url")
        t0=$EPOCHREALTIME
    fi
    "$PYTHON" "$BENCH/analytics_replay.py" produce --brokers "$(stack_env KAFKA_BROKERS)" \
        --dir "$dir" "${chunk[@]}" || die "$label: publishing failed (kcat: run scripts/deps)"
    if ((fresh)); then
        t0=$EPOCHREALTIME
        "$STACK" start-service analytics 9<&-
    fi
    say "$label: $total events ($n orders over $days days) replayed into analytics-service"
    out=$("$PYTHON" "$BENCH/analytics_replay.py" wait --metrics "$url" --events "$((base + total))" \
        --since "$t0" --timeout "$ANALYTICS_TIMEOUT") || die "$label: the events were not all handled"
    R[$label.events]=$total
    R[$label.secs]=$(jq -r .seconds_since_start <<<"$out")
    R[$label.eps]=$(awk -v t="$total" -v s="${R[$label.secs]}" 'BEGIN { printf "%.0f", t / s }')
    R[$label.eps_first]=$(awk -v t="$total" -v s="$(jq -r .seconds_since_first <<<"$out")" 'BEGIN { printf "%.0f", t / s }')
    R[$label.from]=$(jq -r .from "$dir.counts")
    R[$label.to]=$(jq -r .to "$dir.counts")
    printf '  %s events in %s s: %s events/s from the start, %s from the first event handled\n' \
        "$total" "${R[$label.secs]}" "${R[$label.eps]}" "${R[$label.eps_first]}"
}

scenario_analytics() {
    local admin md label orders placed ok_replay ok_summary i
    for i in psql jq kcat "$PYTHON"; do
        command -v "$i" >/dev/null || die "$i not found (run scripts/deps)"
    done
    [[ -s $SOUK_RUN_DIR/pids/analytics.pid ]] || die "analytics-service is not running (is build/release complete?)"
    ANALYTICS_PORT=$(stack_env ANALYTICS_PORT)
    # The other consumers of these topics would do their own work on the
    # replayed events (reservations, emails) on the same two cores: they
    # stay stopped for the rest of the run, so this scenario runs last.
    for i in notification order product; do
        "$STACK" stop-service "$i" 9<&-
    done

    analytics_replay replay "$ANALYTICS_ORDERS" 30 "" 1
    analytics_replay year "$ANALYTICS_YEAR_ORDERS" 365 "$ANALYTICS_YEAR_END" 0

    # The year's figures are the generated ones: every order counted once.
    admin=$(login_token "$(stack_env SOUK_ADMIN_EMAIL)" "$(stack_env SOUK_ADMIN_PASSWORD)")
    http GET "http://127.0.0.1:$ANALYTICS_PORT/reports/summary?from=${R[year.from]}&to=${R[year.to]}" "" \
        -H "Authorization: Bearer $admin"
    expect 200 "GET /reports/summary"
    placed=$(jq -r .orders_placed <<<"$HTTP_BODY")
    ((placed == ANALYTICS_YEAR_ORDERS)) || die "the year's summary counts $placed orders placed, not $ANALYTICS_YEAR_ORDERS"
    orders=$(psql_at "$(stack_env ANALYTICS_DATABASE_URL)" "SELECT count(*) FROM orders")

    export BENCH_TOKEN=$admin
    local url="http://127.0.0.1:$ANALYTICS_PORT/reports/summary?from=${R[year.from]}&to=${R[year.to]}" c
    ((WARMUP == 0)) || warm_up analytics_summary.lua "$url" 2 4
    for c in $ANALYTICS_CONNECTIONS; do
        run_wrk "summary-c$c" analytics_summary.lua "$url" 2 "$c" "$DURATION" analytics postgres
    done
    c=${ANALYTICS_CONNECTIONS%% *} # judged at the first (lowest) count
    label=summary-c$c

    ok_replay=$(awk -v e="${R[replay.eps]}" -v t="$TARGET_REPLAY_EPS" 'BEGIN { print ((e >= t) ? 1 : 0) }')
    ok_summary=$(awk -v p="${R[$label.p99_us]}" -v t="$TARGET_SUMMARY_P99_MS" 'BEGIN { print ((p / 1000 < t) ? 1 : 0) }')
    md=$WORK/analytics.md
    {
        echo "## analytics: events replayed into an empty database, and the summary over a year"
        echo
        run_info "the load generator, analytics-service, the broker and PostgreSQL (the other services idle)"
        echo "- Events: \`bench/analytics_replay.py\` (seeded): 200 products in 12 categories and two"
        echo "  currencies, 2,000 users; each order 1 to 4 lines of 1 to 3 units, placed, then 90 % confirmed"
        echo "  (10 % of those cancelled later), 7 % rejected, 3 % cancelled while pending; published with"
        echo "  kcat while analytics-service is stopped, so the run measures consumption alone."
        echo "- Replay: ${R[replay.events]} events of $ANALYTICS_ORDERS orders over 30 days into an empty"
        echo "  \`souk_analytics\` database, timed from starting analytics-service (migrations included) until"
        echo "  every event is handled (\`events_handled_total\`) and the journal folded into the daily rows"
        echo "  (\`analytics_journal_rows\` 0)."
        echo "- Year: ${R[year.events]} events of $ANALYTICS_YEAR_ORDERS orders from ${R[year.from]} to ${R[year.to]}, published"
        echo "  while the service runs, $ANALYTICS_CHUNK at a time as it keeps up (the dev broker keeps only"
        echo "  the last few MB of a partition), timed from the first publication"
        echo "  (the database then holds $orders orders); \`GET /reports/summary?from=${R[year.from]}&to=${R[year.to]}\`"
        echo "  on analytics-service, \`wrk -t2 -c<N> -d${DURATION}s --latency\` (\`bench/analytics_summary.lua\`) at N = ${ANALYTICS_CONNECTIONS// /, }"
        echo "  an admin's token, every answer 200."
        echo
        echo "| run | events | seconds | events/s (from start) | events/s (from first handled) |"
        echo "|---|---:|---:|---:|---:|"
        echo "| replay, $ANALYTICS_ORDERS orders, empty database | ${R[replay.events]} | ${R[replay.secs]} | ${R[replay.eps]} | ${R[replay.eps_first]} |"
        echo "| year, $ANALYTICS_YEAR_ORDERS orders, published as consumed | ${R[year.events]} | ${R[year.secs]} | ${R[year.eps]} | – |"
        echo
        echo "| \`/reports/summary\` over a year | req/s | p50 | p99 | max | CPU: analytics, PostgreSQL, other (% of a core) |"
        echo "|---|---:|---:|---:|---:|---:|"
        for c in $ANALYTICS_CONNECTIONS; do
            echo "| $c connections | $(int "${R[summary-c$c.rps]}") | $(ms "${R[summary-c$c.p50_us]}") |" \
                "$(ms "${R[summary-c$c.p99_us]}") | $(ms "${R[summary-c$c.max_us]}") |" \
                "${R[summary-c$c.cpu.analytics]}, ${R[summary-c$c.cpu.postgres]}, ${R[summary-c$c.cpu.other]} |"
        done
        c=${ANALYTICS_CONNECTIONS%% *}
        echo
        echo "| target (from the issue) | measured | result |"
        echo "|---|---|---|"
        echo "| $ANALYTICS_ORDERS orders' events into an empty analytics database at >= $TARGET_REPLAY_EPS events/s" \
            "| ${R[replay.eps]} events/s | $(passfail "$ok_replay") |"
        echo "| \`/reports/summary\` over a year of $ANALYTICS_YEAR_ORDERS orders, p99 < $TARGET_SUMMARY_P99_MS ms ($c connections)" \
            "| $(ms "${R[$label.p99_us]}") | $(passfail "$ok_summary") |"
    } >"$md"
    publish_section analytics "$md"
}
