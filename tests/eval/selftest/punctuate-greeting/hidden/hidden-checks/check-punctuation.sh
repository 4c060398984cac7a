#!/bin/sh
# greet must say "Hello, <name>!".
grep -qF 'return `Hello, ${name}!`;' src/greet.ts || { echo "not ok - greet does not say Hello, <name>!"; exit 1; }
echo "ok - greet punctuates"
