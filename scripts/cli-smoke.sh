#!/usr/bin/env bash
# Exercises the quiver command line as a user would, on the Arrow golden corpus:
# integration VALIDATE of every case (file and stream), JSON_TO_ARROW / ARROW_TO_JSON round
# trips, convert through pipes (stdin → stdout), and schema/info/cat on files and streams.
# Prints "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
QUIVER=${QUIVER:-.build/debug/quiver}
GOLDEN=${GOLDEN:-../shared/golden/integration}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0; failed=0
check() {  # check NAME COMMAND...
  local name=$1; shift
  if "$@" >"$TMP/out" 2>&1; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; head -c 600 "$TMP/out"; echo; fi
}

for dir in "$GOLDEN"/cpp-21.0.0 "$GOLDEN"/2.0.0-compression; do
  for json in "$dir"/*.json.gz; do
    base=${json%.json.gz}; name=$(basename "$base")
    check "VALIDATE $name file" "$QUIVER" integration --mode VALIDATE --json "$json" --arrow "$base.arrow_file"
    check "VALIDATE $name stream" "$QUIVER" integration --mode VALIDATE --json "$json" --arrow "$base.stream"
    check "JSON_TO_ARROW $name" "$QUIVER" integration --mode JSON_TO_ARROW --json "$json" --arrow "$TMP/$name.arrow"
    check "VALIDATE ours $name" "$QUIVER" integration --mode VALIDATE --json "$json" --arrow "$TMP/$name.arrow"
    check "ARROW_TO_JSON $name" "$QUIVER" integration --mode ARROW_TO_JSON --json "$TMP/$name.json" --arrow "$base.arrow_file"
    check "VALIDATE json $name" "$QUIVER" integration --mode VALIDATE --json "$TMP/$name.json" --arrow "$base.stream"
  done
done

# cat (every row) and ARROW_TO_JSON over every golden file, valid and malformed, and every
# regression input (../shared/regressions, Tests/Regressions): a valid file prints (exit 0); a malformed one fails with a message
# (exit 1). Never a crash (a signal, exit > 1) or a hang (timeout exits 124).
REGRESSIONS=${REGRESSIONS:-../shared/regressions}
cat_and_json() {  # cat_and_json TEST FILE: TEST is "test \$? -eq 0" or "test \$? -le 1"
  local test=$1 file=$2 name; name=$(basename "$(dirname "$file")")/$(basename "$file")
  check "cat $name" bash -c "timeout 20 '$QUIVER' cat --limit 100000000 '$file' >/dev/null; $test"
  check "ARROW_TO_JSON $name" bash -c "timeout 20 '$QUIVER' integration --mode ARROW_TO_JSON --json '$TMP/any.json' --arrow '$file' >/dev/null; $test"
}
for file in "$GOLDEN"/*/*.arrow_file "$GOLDEN"/*/*.stream "$REGRESSIONS"/0[12]-*.arrow "$REGRESSIONS"/01-*.stream; do
  cat_and_json 'test $? -eq 0' "$file"
done
for file in "$GOLDEN"/../bad/*/* "$REGRESSIONS"/* Tests/Regressions/*/*; do
  [ "$(basename "$file")" = README.md ] || cat_and_json 'test $? -le 1' "$file"
done

# A mismatch must fail with a message, not pass.
cpp="$GOLDEN/cpp-21.0.0"
check "VALIDATE detects mismatch" bash -c "! '$QUIVER' integration --mode VALIDATE --json '$cpp/generated_primitive.json.gz' --arrow '$cpp/generated_nested.arrow_file'"

# Pipes: stream in on stdin, file or compressed stream out on stdout.
check "convert stdin→stdout file" bash -c "'$QUIVER' convert - - --format file < '$cpp/generated_nested.stream' > '$TMP/piped.arrow' && '$QUIVER' integration --mode VALIDATE --json '$cpp/generated_nested.json.gz' --arrow '$TMP/piped.arrow'"
check "convert file on stdin, zstd stream out" bash -c "'$QUIVER' convert - - --format stream --compression zstd --level 5 < '$cpp/generated_map.arrow_file' | '$QUIVER' convert - '$TMP/map.arrow' && '$QUIVER' integration --mode VALIDATE --json '$cpp/generated_map.json.gz' --arrow '$TMP/map.arrow'"
check "schema" bash -c "'$QUIVER' schema '$cpp/generated_primitive.arrow_file' | grep -q 'int32_nonnullable: int32 not null'"
check "info" bash -c "'$QUIVER' info '$cpp/generated_primitive.stream' | grep -q 'format:       arrow stream'"
check "info shows codec and sizes" bash -c "'$QUIVER' convert '$cpp/generated_primitive.arrow_file' '$TMP/p.lz4' --compression lz4 && '$QUIVER' info '$TMP/p.lz4' | grep -q 'compression:  lz4' && '$QUIVER' info '$TMP/p.lz4' | grep -qE 'int64_nullable +[0-9]+ / [0-9]+'"
check "cat --limit" bash -c "'$QUIVER' cat --limit 3 '$cpp/generated_nested.arrow_file' | grep -q 'list_nullable'"
check "bad input is an error, not a crash" bash -c "'$QUIVER' info '$GOLDEN/../bad/file/clusterfuzz-testcase-arrow-ipc-file-fuzz-4778515122946048'; test \$? -eq 1"

# SQL over a file: a result, EXPLAIN, and errors that point at the token (exit 1, no crash).
check "query" bash -c "'$QUIVER' query '$cpp/generated_primitive.arrow_file' 'SELECT count(*) AS n, max(int32_nonnullable) AS m FROM t WHERE int8_nullable IS NOT NULL' --format csv | head -1 | grep -q '^n,m$'"
check "query json" bash -c "'$QUIVER' query '$cpp/generated_primitive.arrow_file' 'SELECT bool_nonnullable FROM t LIMIT 2' --format json | grep -q '{\"bool_nonnullable\":'"
check "query arrow out" bash -c "'$QUIVER' query '$cpp/generated_primitive.arrow_file' 'SELECT * FROM t' --format arrow | '$QUIVER' info - | grep -q 'format:       arrow stream'"
check "query --stats reports disk reads and major faults" bash -c "'$QUIVER' query '$cpp/generated_primitive.arrow_file' 'SELECT count(*) FROM t' --stats --read-ahead 8 --io-threads 2 --keep-pages 2>&1 >/dev/null | grep -qE 'read from disk [0-9]+ B  major faults [0-9]+'"
check "explain" bash -c "'$QUIVER' query '$cpp/generated_primitive.arrow_file' 'EXPLAIN SELECT sum(int64_nullable) FROM t' | grep -q 'Scan: t; columns \[int64_nullable\]'"
check "bad sql points at the token" bash -c "out=\$('$QUIVER' query '$cpp/generated_primitive.arrow_file' 'SELECT FROM t' 2>&1); code=\$?; echo \"\$out\" | grep -q 'line 1, column 8' && test \$code -eq 1"

echo "cli-smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
