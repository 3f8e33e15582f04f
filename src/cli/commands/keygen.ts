/**
 * `tollgate keygen`: makes an identity key for the secure channel: an RSA hostkey as
 * VoidPhone peers use (spec/voidphone-gossip.md) or an Ed25519 key. The private key file is
 * created with mode 0600 and never overwrites; the public PEM (to share out of band, e.g. by
 * dropping it into the other peers' trust folders) and the identity go to stdout.
 */
import { generateKeyPair } from 'node:crypto';
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { identityKey, publicPem } from '../../secure/keys.js';
import { ArgumentError, TollgateError } from '../../util/errors.js';
import { type Command, parseCommandArgs } from '../command.js';

const HELP = `Usage: tollgate keygen [--type rsa|ed25519] [--bits 2048|3072|4096] --out FILE

Writes a new private key to FILE (PEM, PKCS#8, mode 0600; an existing FILE is never
overwritten) and prints its public key (PEM) and identity (hex SHA-256 of the DER
SubjectPublicKeyInfo). Share the public PEM out of band: peers put it in their trust folder.

Options:
  --type rsa|ed25519   key type (default rsa: a VoidPhone hostkey)
  --bits N             RSA modulus size: 2048, 3072 or 4096 (default 4096)
  --out FILE           where to write the private key`;

const generate = promisify(generateKeyPair);

const command: Command = {
  async run(argv) {
    const parsed = parseCommandArgs(
      argv,
      { type: { type: 'string' }, bits: { type: 'string' }, out: { type: 'string' } },
      HELP,
    );
    if (parsed === null) return 0;
    const { values } = parsed;
    const type = values.type ?? 'rsa';
    if (type !== 'rsa' && type !== 'ed25519') throw new ArgumentError('--type', 'expected rsa or ed25519');
    if (values.out === undefined) throw new ArgumentError('--out', 'required');
    if (values.bits !== undefined && type !== 'rsa') throw new ArgumentError('--bits', 'only for --type rsa');
    const bits = Number(values.bits ?? '4096');
    if (![2048, 3072, 4096].includes(bits)) throw new ArgumentError('--bits', 'expected 2048, 3072 or 4096');
    // Create the file first, so that an existing one is refused before a slow RSA generation.
    let fd: number;
    try {
      fd = openSync(values.out, 'wx', 0o600);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new TollgateError(
        'ERR_KEY',
        code === 'EEXIST'
          ? `${values.out} exists; not overwriting it`
          : `cannot create ${values.out}: ${code}`,
      );
    }
    try {
      const { privateKey } =
        type === 'rsa' ? await generate('rsa', { modulusLength: bits }) : await generate('ed25519');
      const key = identityKey(privateKey);
      writeSync(fd, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      closeSync(fd);
      process.stdout.write(`${publicPem(key)}identity: ${key.identity}\n`);
    } catch (error) {
      closeSync(fd);
      unlinkSync(values.out);
      throw error;
    }
    return 0;
  },
};

export default command;
