#!/bin/sh
# farewell must be exported and say "Goodbye, <name>.".
grep -q 'export function farewell(' src/greet.ts || { echo "not ok - farewell is not exported"; exit 1; }
grep -qF 'Goodbye, ${name}.' src/greet.ts || { echo "not ok - farewell does not say Goodbye, <name>."; exit 1; }
echo "ok - farewell"
