import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeTestbed } from '../../src/services/gossip/testbed.js';
import { runCli } from '../helpers/cli.js';
import { CliProcess } from '../helpers/procs.js';

// Issue 10 item 1: open membership by default; trusted_keys makes a closed network, and a
// folder that was asked for but cannot be used is an error, each unusable file a warning.

async function withBed(fn: (dir: string, bootIni: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-membership-'));
  try {
    const bed = await writeTestbed(dir, { peers: 0, powBits: 8, keyType: 'ed25519' });
    await fn(dir, bed.bootstrapIni);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function addLine(ini: string, line: string): void {
  writeFileSync(ini, readFileSync(ini, 'utf8').replace('[gossip]\n', `[gossip]\n${line}\n`));
}

test('no trusted_keys: the node says it runs open membership', () =>
  withBed(async (_dir, ini) => {
    const boot = new CliProcess(['bootstrap', '--config', ini]);
    try {
      await boot.waitFor(/listening on/);
      assert.match(boot.stdout, /membership open: any key that pays its PoW may link/);
    } finally {
      assert.equal(await boot.stop(), 0);
    }
  }));

test('trusted_keys naming a missing folder is a configuration error', () =>
  withBed(async (_dir, ini) => {
    addLine(ini, 'trusted_keys = nowhere');
    const r = await runCli(['bootstrap', '--config', ini]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /bootstrap\.ini: trusted_keys: folder .*nowhere does not exist/);
  }));

test('trusted_keys naming an empty folder is a configuration error, not a silent peer', () =>
  withBed(async (dir, ini) => {
    mkdirSync(join(dir, 'empty'));
    addLine(ini, 'trusted_keys = empty');
    const r = await runCli(['bootstrap', '--config', ini]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /trusted_keys: folder .*empty holds no usable public key/);
  }));

test('trusted_keys: every unusable file is reported at start; the usable keys make a closed network', () =>
  withBed(async (dir, ini) => {
    // writeTestbed put the bootstrapper's own public key in trusted/.
    writeFileSync(join(dir, 'trusted', 'junk.pem'), 'not a key\n');
    writeFileSync(join(dir, 'trusted', 'notes.txt'), 'peer list\n');
    addLine(ini, 'trusted_keys = trusted');
    const boot = new CliProcess(['bootstrap', '--config', ini]);
    try {
      await boot.waitFor(/listening on/);
      assert.match(boot.stdout, /membership closed: 1 trusted keys from .*trusted/);
      assert.match(boot.stderr, /warning: trusted_keys: .*junk\.pem: .*\(ignored\)/);
      assert.match(
        boot.stderr,
        /warning: trusted_keys: .*notes\.txt is not a \.pem or \.pub file \(ignored\)/,
      );
    } finally {
      assert.equal(await boot.stop(), 0);
    }
  }));

test('tollgate bootstrap takes --json-logs and --metrics HOST:PORT (the flags every daemon takes)', () =>
  withBed(async (_dir, ini) => {
    const boot = new CliProcess(['bootstrap', '--config', ini, '--json-logs', '--metrics', '127.0.0.1:0']);
    try {
      await boot.waitFor(/listening on/);
      const at = boot.stderr.match(/metrics on (http:\/\/\S+\/metrics)/)?.[1];
      assert.ok(at !== undefined, boot.stderr);
      const text = await (await fetch(at, { signal: AbortSignal.timeout(10_000) })).text();
      assert.match(text, /tollgate_bootstrap_links \d+/);
      assert.match(text, /tollgate_bootstrap_rejections_total/);
    } finally {
      assert.equal(await boot.stop(), 0);
    }
  }));
