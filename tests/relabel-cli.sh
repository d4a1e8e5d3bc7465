#!/usr/bin/env bash
# tests/relabel-cli.sh - prex-relay -r with the relabel configurations
# operators write, on the real node_exporter capture in corpus/.
#
# Each check runs the relay on the capture with one rule file and compares
# the output with what the rules must do, computed independently from the
# capture (or from the relay's output without rules) with grep and awk.
# Every check prints "ok   NAME" or "FAIL NAME: why"; the last line is
# "N passed, N failed"; the exit status is non-zero when a check failed.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2

relay=${PREX_RELAY:-./out/prex-relay}
capture=corpus/y_capture_node_exporter.prom
[ -x "$relay" ] || ninja out/prex-relay >/dev/null || exit 2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() {
    echo "ok   $1"
    passed=$((passed + 1))
}

bad() {
    echo "FAIL $1: $2"
    failed=$((failed + 1))
}

# samples FILE: the sample lines of an exposition, sorted.
samples() {
    grep -v '^#' "$1" | grep -v '^$' | sort
}

# norm FILE: each sample line as "name sorted,labels value", sorted; fails
# (printing nothing) on a line that is not a sample.
norm() {
    perl -ne 'if (/^([^{ ]+)(?:\{(.*)\})? (\S+)$/) {
                  my @l = sort split /,(?=[a-zA-Z_]\w*=")/, (defined $2 ? $2 : "");
                  print "$1 ", join(",", @l), " $3\n";
              } else { exit 1 }' "$1" | sort
}

# relabel NAME: runs the relay on the capture with $tmp/NAME.yml into
# $tmp/NAME.out; returns the relay's exit status.
relabel() {
    "$relay" -r "$tmp/$1.yml" "$capture" > "$tmp/$1.out" 2> "$tmp/$1.err"
}

# The reference: the capture through the relay without rules.
if ! "$relay" "$capture" > "$tmp/base.out" 2> "$tmp/base.err"; then
    bad baseline "relay failed: $(head -3 "$tmp/base.err")"
    echo "$passed passed, $failed failed"
    exit 1
fi
samples "$tmp/base.out" > "$tmp/base.samples"
base_n=$(wc -l < "$tmp/base.samples")
[ "$base_n" -gt 500 ] && ok "baseline ($base_n samples)" ||
    bad baseline "only $base_n samples"

# 1. drop families by name: the Go runtime and process families.
cat > "$tmp/drop.yml" <<'EOF'
- source_labels: [__name__]
  regex: 'go_.*|process_.*'
  action: drop
EOF
if relabel drop; then
    samples "$tmp/drop.out" > "$tmp/drop.samples"
    grep -Ev '^(go_|process_)' "$tmp/base.samples" > "$tmp/drop.want"
    if [ "$(grep -Ec '^(go_|process_|# TYPE go_|# TYPE process_)' "$tmp/drop.out")" -ne 0 ]; then
        bad drop-by-name "go_/process_ lines left"
    elif ! cmp -s "$tmp/drop.samples" "$tmp/drop.want"; then
        bad drop-by-name "other series changed: $(diff "$tmp/drop.want" "$tmp/drop.samples" | head -3)"
    else
        ok "drop-by-name ($(wc -l < "$tmp/drop.samples") of $base_n samples kept)"
    fi
else
    bad drop-by-name "exit $?: $(head -3 "$tmp/drop.err")"
fi

# 2. keep by two labels: CPU time in two modes only.
cat > "$tmp/keep.yml" <<'EOF'
metric_relabel_configs:
  - source_labels: [__name__, mode]
    regex: 'node_cpu_seconds_total;(idle|user)'
    action: keep
EOF
if relabel keep; then
    samples "$tmp/keep.out" > "$tmp/keep.samples"
    grep -E '^node_cpu_seconds_total\{.*mode="(idle|user)"' "$tmp/base.samples" > "$tmp/keep.want"
    if [ ! -s "$tmp/keep.want" ]; then
        bad keep-by-two-labels "the capture has no CPU series"
    elif cmp -s "$tmp/keep.samples" "$tmp/keep.want"; then
        ok "keep-by-two-labels ($(wc -l < "$tmp/keep.samples") samples)"
    else
        bad keep-by-two-labels "$(diff "$tmp/keep.want" "$tmp/keep.samples" | head -3)"
    fi
else
    bad keep-by-two-labels "exit $?: $(head -3 "$tmp/keep.err")"
fi

# 3. rename a label: device -> interface.
cat > "$tmp/rename-label.yml" <<'EOF'
- source_labels: [device]
  regex: '(.+)'
  target_label: interface
- regex: device
  action: labeldrop
EOF
if relabel rename-label; then
    samples "$tmp/rename-label.out" > "$tmp/rename-label.samples"
    sed 's/device="/interface="/' "$tmp/base.samples" | sort > "$tmp/rename-label.want"
    if grep -q 'device="' "$tmp/rename-label.samples"; then
        bad rename-label "device labels left"
    elif ! grep -q '^node_network_receive_bytes_total{interface="eth0"}' "$tmp/rename-label.samples"; then
        bad rename-label "no interface=\"eth0\" on node_network_receive_bytes_total"
    elif [ "$(wc -l < "$tmp/rename-label.samples")" -ne "$base_n" ]; then
        bad rename-label "sample count changed"
    else
        # label order differs once renamed: compare name, sorted labels
        # and value of every sample
        if [ "$(norm "$tmp/rename-label.samples")" = "$(norm "$tmp/rename-label.want")" ]; then
            ok "rename-label"
        else
            bad rename-label "label sets differ from device renamed to interface"
        fi
    fi
else
    bad rename-label "exit $?: $(head -3 "$tmp/rename-label.err")"
fi

# 4. rename metrics: node_* -> host_*, types kept.
cat > "$tmp/rename-metric.yml" <<'EOF'
- source_labels: [__name__]
  regex: 'node_(.*)'
  target_label: __name__
  replacement: 'host_$1'
EOF
if relabel rename-metric; then
    samples "$tmp/rename-metric.out" > "$tmp/rename-metric.samples"
    sed 's/^node_/host_/' "$tmp/base.samples" | sort > "$tmp/rename-metric.want"
    if ! cmp -s "$tmp/rename-metric.samples" "$tmp/rename-metric.want"; then
        bad rename-metric "$(diff "$tmp/rename-metric.want" "$tmp/rename-metric.samples" | head -3)"
    elif ! grep -qx '# TYPE host_cpu_seconds_total counter' "$tmp/rename-metric.out"; then
        bad rename-metric "host_cpu_seconds_total lost its counter type"
    else
        ok "rename-metric"
    fi
else
    bad rename-metric "exit $?: $(head -3 "$tmp/rename-metric.err")"
fi

# 5. hashmod sharding: four shards by collector; every series in exactly
# one, and the temporary label gone.
: > "$tmp/shards.samples"
shard_ok=1
for shard in 0 1 2 3; do
    cat > "$tmp/shard$shard.yml" <<EOF
- source_labels: [__name__, collector]
  modulus: 4
  target_label: __tmp_shard
  action: hashmod
- source_labels: [__tmp_shard]
  regex: '$shard'
  action: keep
EOF
    if relabel "shard$shard"; then
        if grep -q '__tmp_shard' "$tmp/shard$shard.out"; then
            bad hashmod-sharding "shard $shard leaks __tmp_shard"
            shard_ok=0
        fi
        samples "$tmp/shard$shard.out" >> "$tmp/shards.samples"
    else
        bad hashmod-sharding "shard $shard: exit $?: $(head -3 "$tmp/shard$shard.err")"
        shard_ok=0
    fi
done
if [ $shard_ok = 1 ]; then
    sort "$tmp/shards.samples" > "$tmp/shards.sorted"
    if cmp -s "$tmp/shards.sorted" "$tmp/base.samples"; then
        ok "hashmod-sharding (4 shards partition the $base_n samples)"
    else
        bad hashmod-sharding "the shards do not partition the input: $(diff "$tmp/base.samples" "$tmp/shards.sorted" | head -3)"
    fi
fi

# 6. labelmap: copy collector to scrape_collector.
cat > "$tmp/labelmap.yml" <<'EOF'
- regex: '(collector)'
  replacement: 'scrape_$1'
  action: labelmap
EOF
if relabel labelmap; then
    n_src=$(grep -c 'collector="' "$tmp/base.samples")
    n_both=$(grep -E 'collector="([^"]*)".*scrape_collector="\1"|scrape_collector="([^"]*)".*[{,]collector="\2"' "$tmp/labelmap.out" | grep -vc '^#')
    if [ "$n_src" -gt 0 ] && [ "$n_both" -eq "$n_src" ]; then
        ok "labelmap ($n_both series gained scrape_collector)"
    else
        bad labelmap "$n_both of $n_src series have scrape_collector equal to collector"
    fi
else
    bad labelmap "exit $?: $(head -3 "$tmp/labelmap.err")"
fi

# 7. a configuration error: exit 2, FILE:LINE:COLUMN, nothing written.
cat > "$tmp/broken.yml" <<'EOF'
- source_labels: [__name__]
  regex: 'x'
  action: dorp
EOF
relabel broken
rc=$?
if [ $rc -eq 2 ] && [ ! -s "$tmp/broken.out" ] &&
    grep -Eq "^$tmp/broken.yml:3:[0-9]+: error: " "$tmp/broken.err"; then
    ok "load-error ($(head -1 "$tmp/broken.err" | sed "s|$tmp/||"))"
else
    bad load-error "exit $rc, stderr: $(head -2 "$tmp/broken.err")"
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
