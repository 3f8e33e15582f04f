import { ArgumentError } from './errors.js';

/**
 * One limits registry per layer (DESIGN "Limits, errors, logs": every limit has a name, a
 * default, bounds, a unit and a doc line, kept in one place per layer). From the one
 * definition come the defaults, the validation of caller overrides (a typed error naming the
 * option as that API spells it) and the docs table, which test/docs-limits.test.ts keeps equal
 * to the docs between `<!-- limits:<layer> -->` and `<!-- /limits:<layer> -->`.
 */
export type LimitUnit = 'ms' | 's' | 'bytes' | 'count' | 'per second' | 'bits' | 'hex digits' | 'ratio';

export interface LimitSpec {
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly unit: LimitUnit;
  /** One line for the docs: what the limit bounds and why. */
  readonly doc: string;
  /** Non-integer values allowed (ratios); integers otherwise. */
  readonly real?: boolean;
  /** A ceiling or format constant that callers cannot override (documented like the rest). */
  readonly fixed?: boolean;
  /** The key that sets it in a config file, as the user spells it (e.g. the gossip INI's `cache_size`). */
  readonly configKey?: string;
}

export type LimitValues<S extends Record<string, LimitSpec>> = { readonly [K in keyof S]: number };

export interface ResolveOptions {
  /** How the caller spells the option holding these limits, e.g. `limits` or `options`. */
  readonly prefix?: string;
  /** How a caller (e.g. the CLI) spells individual limits: `{ maxConnections: '--max-connections' }`. */
  readonly names?: Readonly<Record<string, string>>;
}

export interface LimitRegistry<S extends Record<string, LimitSpec>> {
  readonly layer: string;
  readonly specs: S;
  readonly defaults: LimitValues<S>;
  /** Defaults with the caller's overrides, each checked against its bounds. */
  resolve(overrides?: Partial<Record<keyof S, number>>, options?: ResolveOptions): LimitValues<S>;
  /** The markdown table for the docs. */
  table(): string;
}

/** A relation between limits that bounds alone cannot say (e.g. `hard >= soft`); returns a message when broken. */
export type LimitCheck<S extends Record<string, LimitSpec>> = (
  values: LimitValues<S>,
) => { readonly key: keyof S & string; readonly message: string } | undefined;

const registries = new Map<string, LimitRegistry<Record<string, LimitSpec>>>();

export function defineLimits<const S extends Record<string, LimitSpec>>(
  layer: string,
  specs: S,
  check?: LimitCheck<S>,
): LimitRegistry<S> {
  for (const [key, spec] of Object.entries(specs)) {
    // A registry that contradicts itself is a programming error: fail at import, not in a test.
    if (!(spec.min <= spec.default && spec.default <= spec.max)) {
      throw new RangeError(
        `limits ${layer}.${key}: default ${spec.default} outside [${spec.min}, ${spec.max}]`,
      );
    }
  }
  const defaults = Object.freeze(
    Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, s.default])),
  ) as LimitValues<S>;
  const nameOf = (key: string, options: ResolveOptions): string =>
    options.names?.[key] ?? (options.prefix === undefined ? key : `${options.prefix}.${key}`);
  const registry: LimitRegistry<S> = {
    layer,
    specs,
    defaults,
    resolve(overrides = {}, options = {}) {
      const merged: Record<string, number> = { ...defaults };
      for (const [key, value] of Object.entries(overrides)) {
        if (value === undefined) continue;
        const spec = specs[key];
        if (spec === undefined) throw new ArgumentError(nameOf(key, options), 'is not a known limit');
        if (spec.fixed === true)
          throw new ArgumentError(nameOf(key, options), 'is fixed and cannot be changed');
        const ok =
          typeof value === 'number' &&
          Number.isFinite(value) &&
          (spec.real === true || Number.isInteger(value)) &&
          value >= spec.min &&
          value <= spec.max;
        if (!ok) {
          throw new ArgumentError(
            nameOf(key, options),
            `expected ${spec.real ? 'a number' : 'an integer'} in [${spec.min}, ${spec.max}] (${spec.unit}), got ${String(value)}`,
          );
        }
        merged[key] = value;
      }
      const values = Object.freeze(merged) as LimitValues<S>;
      const broken = check?.(values);
      if (broken !== undefined) throw new ArgumentError(nameOf(broken.key, options), broken.message);
      return values;
    },
    table() {
      const fmt = (n: number) => (Number.isInteger(n) ? n.toLocaleString('en-US') : String(n));
      // A config-key column only for registries that a config file sets.
      const keyed = Object.values(specs).some((s) => s.configKey !== undefined);
      const rows = Object.entries(specs).map(
        ([key, s]) =>
          `| \`${key}\` |${keyed ? ` ${s.configKey === undefined ? '' : `\`${s.configKey}\``} |` : ''} ${fmt(s.default)} | ${s.fixed === true ? 'fixed' : `${fmt(s.min)} to ${fmt(s.max)}`} | ${s.unit} | ${s.doc} |`,
      );
      return [
        keyed
          ? '| limit | config key | default | range | unit | meaning |'
          : '| limit | default | range | unit | meaning |',
        keyed ? '| --- | --- | --- | --- | --- | --- |' : '| --- | --- | --- | --- | --- |',
        ...rows,
      ].join('\n');
    },
  };
  if (registries.has(layer)) throw new RangeError(`limits layer ${layer} defined twice`);
  registries.set(layer, registry as unknown as LimitRegistry<Record<string, LimitSpec>>);
  return registry;
}

/** Every registry defined so far (the docs tooling imports the layers, then lists them). */
export function limitRegistries(): ReadonlyMap<string, LimitRegistry<Record<string, LimitSpec>>> {
  return registries;
}
