/**
 * A small INI reader for the VoidPhone configuration file (Windows INI, shared by all modules
 * of a peer). Hand-written rather than the `ini` package because the config needs things that
 * package does not give: line numbers for errors, duplicate keys reported instead of silently
 * merged, no nesting on dots in section names (`[onion.x]`), no type coercion ("true" stays a
 * string), and no arrays from `key[]`. The format is tiny; the rules are:
 *
 * - `[name]` starts a section (names are case-insensitive); keys before any section are top-level;
 * - `key = value` (or `key: value`); keys case-insensitive; whitespace around both trimmed;
 *   a value in matching double quotes loses them;
 * - `;` or `#` at the start of a line begins a comment; blank lines are ignored;
 * - anything else is a syntax error (with its line number), but only in sections that
 *   `strictSections` names: other modules' sections may use syntax their readers accept.
 */

export interface IniEntry {
  readonly value: string;
  readonly line: number;
}

/** Section name ('' for top-level) -> key -> entry. */
export type Ini = Map<string, Map<string, IniEntry>>;

export interface IniProblem {
  readonly line: number;
  readonly message: string;
}

export function parseIni(
  text: string,
  strictSections: ReadonlySet<string>,
): { ini: Ini; problems: IniProblem[] } {
  const ini: Ini = new Map([['', new Map()]]);
  const problems: IniProblem[] = [];
  let section = '';
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith(';') || trimmed.startsWith('#')) return;
    const header = /^\[([^\]]*)\]$/.exec(trimmed);
    if (header !== null) {
      section = header[1]!.trim().toLowerCase();
      if (!ini.has(section)) ini.set(section, new Map());
      return;
    }
    const strict = strictSections.has(section);
    const sep = trimmed.search(/[=:]/);
    if (sep <= 0) {
      if (strict)
        problems.push({ line, message: `not "key = value" or "[section]": ${JSON.stringify(trimmed)}` });
      return;
    }
    // "key = host:port": the first '=' wins over ':' so that addresses keep their colons.
    const eq = trimmed.indexOf('=');
    const at = eq > 0 ? eq : sep;
    const key = trimmed.slice(0, at).trim().toLowerCase();
    let value = trimmed.slice(at + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    const keys = ini.get(section)!;
    const earlier = keys.get(key);
    if (earlier !== undefined) {
      if (strict) problems.push({ line, message: `duplicate key "${key}" (first on line ${earlier.line})` });
      return;
    }
    keys.set(key, { value, line });
  });
  return { ini, problems };
}
