# bench/graphql.sh: the graphql scenario of bench/run (sourced by it; uses its
# helpers: stack_env, psql_at, http, expect, warm_up, run_wrk, run_info,
# publish_section, R[]).
#
# A product by id through POST /graphql (bench/graphql_product.lua: every
# field GET /products/{id} answers, by variable) against the REST route
# (bench/product_get.lua) in the same run, on the same ids, at each of
# GRAPHQL_CONNECTIONS, each side after its own warm-up. The target (issue 12):
# GraphQL reaches at least 70 % of the REST route's requests/s (the better
# figure of each side). Both answers are compared before anything is
# measured. The catalog is the products scenario's when it ran first in the
# same run, else GRAPHQL_CATALOG generated products (bench/catalog.sql).
#
# The two paths differ by design: REST is the edge forwarding bytes to
# product-service (which answers from its in-process cache); GraphQL is
# served on the edge's loop: it parses and validates the document (once per
# text: the document cache), calls product-service (GET /products/{id} for a
# single product, the same cached read) as a sub-request on the edge's pooled
# connections, and serialises the result. The CPU table says where the cores
# went.

# shellcheck shell=bash
# (R, the figures, is bench/run's associative array; TW_PORTS is read by its run_wrk.)
# shellcheck disable=SC2034,SC2154

GRAPHQL_CONNECTIONS=${BENCH_GRAPHQL_CONNECTIONS:-16 64}
GRAPHQL_CATALOG=${BENCH_GRAPHQL_CATALOG:-10000}
TARGET_GRAPHQL_SHARE=70 # GraphQL product by id, % of the REST route's req/s

# shellcheck disable=SC2016 # GraphQL's $id, not the shell's
GRAPHQL_QUERY='query ProductById($id: ID!) { product(id: $id) { id sku name description priceCents currency stock category createdAt updatedAt } }'

scenario_graphql() {
    local db ids=$WORK/graphql-ids.txt c first have md rest gql label
    [[ -s $SOUK_RUN_DIR/pids/product.pid ]] || die "product-service is not running (is build/release complete?)"
    db=$(stack_env PRODUCT_DATABASE_URL)
    TW_PORTS=$PRODUCT_PORT

    have=$(psql_at "$db" "SELECT count(*) FROM products WHERE sku LIKE 'BENCH-%'")
    if ((have < 1000)); then
        say "generating $GRAPHQL_CATALOG products (bench/catalog.sql) in $db"
        psql -X -q -v ON_ERROR_STOP=1 -v n="$GRAPHQL_CATALOG" -f "$BENCH/catalog.sql" "$db" \
            >"$WORK/graphql-catalog.txt" 2>&1 9<&- || {
            cat "$WORK/graphql-catalog.txt" >&2
            die "loading the catalog failed"
        }
        psql_at "$db" "ANALYZE products"
    fi
    psql_at "$db" "SELECT id FROM products WHERE sku LIKE 'BENCH-%' ORDER BY random() LIMIT $PRODUCT_IDS" >"$ids"
    R[graphql.ids]=$(wc -l <"$ids")
    R[graphql.catalog]=$(psql_at "$db" "SELECT count(*) FROM products")

    # Both ways must give the same product before anything is measured.
    first=$(head -n1 "$ids")
    http GET "$GW/products/$first"
    expect 200 "GET /products/$first"
    rest=$(jq -cS '{id, sku, name, description, priceCents: .price_cents, currency, stock,
        category, createdAt: .created_at, updatedAt: .updated_at}' <<<"$HTTP_BODY")
    http POST "$GW/graphql" "$(jq -nc --arg q "$GRAPHQL_QUERY" --arg id "$first" \
        '{query: $q, variables: {id: $id}}')"
    expect 200 "POST /graphql (product $first)"
    [[ $(jq -r 'has("errors")' <<<"$HTTP_BODY") == false ]] ||
        die "POST /graphql answered errors: ${HTTP_BODY:0:300}"
    gql=$(jq -cS .data.product <<<"$HTTP_BODY")
    [[ $gql == "$rest" ]] || die "GraphQL and REST disagree on $first: $gql vs $rest"

    export BENCH_IDS_FILE=$ids
    for c in $GRAPHQL_CONNECTIONS; do
        warm_up product_get.lua "$GW/products" 2 "$c"
        run_wrk "graphql-rest-c$c" product_get.lua "$GW/products" 2 "$c" "$DURATION" \
            gateway product postgres stack
        warm_up graphql_product.lua "$GW/graphql" 2 "$c"
        run_wrk "graphql-gql-c$c" graphql_product.lua "$GW/graphql" 2 "$c" "$DURATION" \
            gateway product postgres stack
    done

    local best_rest=0 best_rest_c='' best_gql=0 best_gql_c='' share ok
    for c in $GRAPHQL_CONNECTIONS; do
        if awk -v a="${R[graphql-rest-c$c.rps]}" -v b="$best_rest" 'BEGIN { exit !(a > b) }'; then
            best_rest=${R[graphql-rest-c$c.rps]} best_rest_c=$c
        fi
        if awk -v a="${R[graphql-gql-c$c.rps]}" -v b="$best_gql" 'BEGIN { exit !(a > b) }'; then
            best_gql=${R[graphql-gql-c$c.rps]} best_gql_c=$c
        fi
    done
    share=$(awk -v a="$best_gql" -v b="$best_rest" 'BEGIN { printf "%.1f", a / b * 100 }')
    ok=$(awk -v s="$share" -v t="$TARGET_GRAPHQL_SHARE" 'BEGIN { print ((s >= t) ? 1 : 0) }')

    md=$WORK/graphql.md
    {
        echo "## graphql: a product by id through \`POST /graphql\` against \`GET /products/{id}\`"
        echo
        run_info "wrk, the gateway, product-service and PostgreSQL"
        echo "- Catalog: ${R[graphql.catalog]} products; ids drawn at random from ${R[graphql.ids]} of them,"
        echo "  the same for both ways. GraphQL: \`$GRAPHQL_QUERY\` with the id as a variable (every"
        echo "  field the REST route answers); a 200 carrying \`errors\` or a null product counts as an error."
        echo "- Load: \`wrk -t2 -c{$(tr ' ' ',' <<<"$GRAPHQL_CONNECTIONS")} -d${DURATION}s --latency\`, each side after a"
        echo "  ${WARMUP} s warm-up of its own, REST then GraphQL at each connection count. Checked in every"
        echo "  run: every response 200, no socket error, none slower than ${WRK_TIMEOUT%s} s."
        echo
        echo "| connections | REST req/s | REST p50 | REST p99 | GraphQL req/s | GraphQL p50 | GraphQL p99 | GraphQL/REST |"
        echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
        for c in $GRAPHQL_CONNECTIONS; do
            echo "| $c | $(int "${R[graphql-rest-c$c.rps]}") | $(ms "${R[graphql-rest-c$c.p50_us]}")" \
                "| $(ms "${R[graphql-rest-c$c.p99_us]}") | $(int "${R[graphql-gql-c$c.rps]}")" \
                "| $(ms "${R[graphql-gql-c$c.p50_us]}") | $(ms "${R[graphql-gql-c$c.p99_us]}")" \
                "| $(awk -v a="${R[graphql-gql-c$c.rps]}" -v b="${R[graphql-rest-c$c.rps]}" 'BEGIN { printf "%.0f %%", a / b * 100 }') |"
        done
        echo
        echo "| target (from the issue) | measured | result |"
        echo "|---|---|---|"
        echo "| a product by id through \`/graphql\` reaches at least $TARGET_GRAPHQL_SHARE % of the REST route's throughput" \
            "| $share % ($(int "$best_gql") req/s at $best_gql_c vs $(int "$best_rest") req/s at $best_rest_c connections) | $(passfail "$ok") |"
        echo
        echo "CPU used during each run, in % of one core ($(nproc) cores = $(($(nproc) * 100)) %), and"
        echo "the same per request (µs of CPU): what a GraphQL request costs the gateway beyond"
        echo "forwarding is the difference of the gateway columns."
        echo
        echo "| run | wrk | gateway | product-service | PostgreSQL | rest of the stack | everything else | gateway µs/req | product µs/req |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        for c in $GRAPHQL_CONNECTIONS; do
            for label in graphql-rest-c$c graphql-gql-c$c; do
                echo "| ${label#graphql-} | ${R[$label.cpu.wrk]} % | ${R[$label.cpu.gateway]} % |" \
                    "${R[$label.cpu.product]} % | ${R[$label.cpu.postgres]} % | ${R[$label.cpu.stack]} % |" \
                    "${R[$label.cpu.other]} % |" \
                    "$(awk -v p="${R[$label.cpu.gateway]}" -v r="${R[$label.rps]}" 'BEGIN { printf "%.0f", p * 1e4 / r }') |" \
                    "$(awk -v p="${R[$label.cpu.product]}" -v r="${R[$label.rps]}" 'BEGIN { printf "%.0f", p * 1e4 / r }') |"
            done
        done
    } >"$md"
    publish_section graphql "$md"
}
