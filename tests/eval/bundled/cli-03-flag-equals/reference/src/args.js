/** Flags that never take a value. */
const BOOLEAN_FLAGS = new Set(["help", "json"]);

/**
 * Splits argv into the command, its positional arguments and its flags.
 * `--name value` and `--name=value` set a flag; a flag at the end, before another flag or in
 * BOOLEAN_FLAGS is `true`.
 */
export function parseArgs(argv) {
  const positionals = [];
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith("--") && arg.includes("=")) {
      const eq = arg.indexOf("=");
      flags[arg.slice(2, eq)] = arg.slice(eq + 1);
    } else if (arg.startsWith("--")) {
      const name = arg.slice(2);
      const next = argv[i + 1];
      if (BOOLEAN_FLAGS.has(name) || next === undefined || next.startsWith("--")) {
        flags[name] = true;
      } else {
        flags[name] = next;
        i++;
      }
    } else {
      positionals.push(arg);
    }
  }
  const [command = "help", ...rest] = positionals;
  return { command, positionals: rest, flags };
}
