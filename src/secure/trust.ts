/**
 * Trusted identity keys. Seed 004 relies on "an out-of-band public key sharing mechanism":
 * here that is a folder of public PEM files, one key per file, re-read when it changes
 * (fs.watch, plus a periodic check because watch events can be lost or coalesced).
 *
 * Lookups are by identity (hex SHA-256 of the DER SPKI) so that a handshake is judged by one
 * hash of the received key bytes; untrusted key bytes are never parsed.
 */
import { type FSWatcher, readdirSync, readFileSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError } from '../util/errors.js';
import { KeyError, type PublicIdentity, parsePublicKey, publicIdentity } from './keys.js';
import { defaultLimits } from './limits.js';

/** Decides which identities may complete a handshake. */
export interface TrustPolicy {
  /**
   * The trusted key with this identity, or undefined. `spki` is the key as the peer sent it
   * (DER SubjectPublicKeyInfo, whose SHA-256 is `identity`), for policies that admit keys
   * they have not seen before (open membership, where PoW is what an identity costs: seed
   * 004); a closed policy ignores it and never parses untrusted bytes.
   */
  lookup(identity: string, spki?: Uint8Array): PublicIdentity | undefined;
}

export interface TrustStoreOptions {
  /** Public key files read at most (default limits.maxTrustedKeys). */
  readonly maxKeys?: number;
  /** Bytes per file at most (default limits.maxTrustFileBytes). */
  readonly maxFileBytes?: number;
  /** Milliseconds between periodic checks of the folder (default limits.trustRescanMs). */
  readonly rescanMs?: number;
  /** Watch the folder and re-read it on change (default true). */
  readonly watch?: boolean;
  /** Called for each file that could not be used, at every re-read. */
  readonly onError?: (file: string, error: Error) => void;
  /** Called after a re-read changed the set of trusted identities. */
  readonly onChange?: (identities: readonly string[]) => void;
}

const KEY_FILE = /\.(pem|pub)$/i;

export class TrustStore implements TrustPolicy {
  #keys = new Map<string, PublicIdentity & { readonly file?: string }>();
  #fingerprint = '';
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #dir: string | undefined;
  readonly #options: TrustStoreOptions;

  private constructor(dir: string | undefined, options: TrustStoreOptions) {
    this.#dir = dir;
    this.#options = options;
  }

  /** A fixed set of trusted keys (PEM text or checked keys); never re-read. */
  static fromKeys(keys: Iterable<PublicIdentity | string>): TrustStore {
    const store = new TrustStore(undefined, {});
    for (const key of keys) {
      const pub = typeof key === 'string' ? parsePublicKey(key) : publicIdentity(key.publicKey);
      store.#keys.set(pub.identity, pub);
    }
    return store;
  }

  /** Reads every `*.pem`/`*.pub` file of `dir` now, then keeps the set current until `close()`. */
  static open(dir: string, options: TrustStoreOptions = {}): TrustStore {
    try {
      if (!statSync(dir).isDirectory()) throw new ArgumentError('dir', `${dir} is not a folder`);
    } catch (error) {
      if (error instanceof ArgumentError) throw error;
      throw new ArgumentError('dir', `cannot read trust folder ${dir}`);
    }
    const store = new TrustStore(dir, options);
    store.reload();
    if (options.watch !== false) store.#startWatching(dir);
    return store;
  }

  lookup(identity: string): PublicIdentity | undefined {
    return this.#keys.get(identity);
  }

  get size(): number {
    return this.#keys.size;
  }

  identities(): string[] {
    return [...this.#keys.keys()].sort();
  }

  /** Re-reads the folder now; keys whose file vanished are no longer trusted. */
  reload(): void {
    const dir = this.#dir;
    if (dir === undefined || this.#closed) return;
    const maxKeys = this.#options.maxKeys ?? defaultLimits.maxTrustedKeys;
    const maxBytes = this.#options.maxFileBytes ?? defaultLimits.maxTrustFileBytes;
    const next = new Map<string, PublicIdentity & { readonly file?: string }>();
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((name) => KEY_FILE.test(name))
        .sort();
    } catch (error) {
      // The folder vanished or is unreadable: trust nobody rather than stale keys.
      this.#report(dir, error);
      names = [];
    }
    for (const name of names) {
      const file = join(dir, name);
      if (next.size >= maxKeys) {
        this.#report(file, new KeyError(`more than ${maxKeys} trusted keys; the rest are ignored`));
        break;
      }
      try {
        const stat = statSync(file);
        if (!stat.isFile()) continue;
        if (stat.size > maxBytes) throw new KeyError(`larger than ${maxBytes} bytes`);
        const pub = parsePublicKey(readFileSync(file, 'utf8'));
        next.set(pub.identity, { ...pub, file });
      } catch (error) {
        this.#report(file, error);
      }
    }
    const fingerprint = [...next.keys()].sort().join(',');
    this.#keys = next;
    if (fingerprint !== this.#fingerprint) {
      this.#fingerprint = fingerprint;
      this.#options.onChange?.(this.identities());
    }
  }

  /** Stops watching; lookups keep answering from the last read. */
  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    if (this.#timer) clearInterval(this.#timer);
    if (this.#debounce) clearTimeout(this.#debounce);
  }

  #report(file: string, error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.#options.onError?.(file, err);
  }

  #startWatching(dir: string): void {
    try {
      this.#watcher = watch(dir, { persistent: false }, () => this.#scheduleReload());
      this.#watcher.on('error', () => {
        // The periodic check below still runs; watching is an optimisation.
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch {
      this.#watcher = undefined;
    }
    const every = this.#options.rescanMs ?? defaultLimits.trustRescanMs;
    this.#timer = setInterval(() => {
      const stamp = this.#stamp();
      if (stamp !== this.#lastStamp) {
        this.#lastStamp = stamp;
        this.reload();
      }
    }, every);
    this.#timer.unref();
    this.#lastStamp = this.#stamp();
  }

  #lastStamp = '';

  /** Names, sizes and mtimes of the folder's key files: cheap change detection for the timer. */
  #stamp(): string {
    const dir = this.#dir;
    if (dir === undefined) return '';
    try {
      return readdirSync(dir)
        .filter((name) => KEY_FILE.test(name))
        .sort()
        .map((name) => {
          const s = statSync(join(dir, name), { throwIfNoEntry: false });
          return s ? `${name}:${s.size}:${s.mtimeMs}:${s.ino}` : name;
        })
        .join('|');
    } catch {
      return '!';
    }
  }

  #scheduleReload(): void {
    if (this.#closed) return;
    if (this.#debounce) clearTimeout(this.#debounce);
    // Editors write files in several steps; read once the burst of events is over.
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      this.#lastStamp = this.#stamp();
      this.reload();
    }, 50);
    this.#debounce.unref();
  }
}
