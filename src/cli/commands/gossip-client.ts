/**
 * `tollgate gossip-client`: a Gossip API client for people, like the course's test client:
 * `notify` subscribes and answers every NOTIFICATION (valid, or invalid with --reject);
 * `announce` subscribes to the type (as the course client does) and announces one item.
 */

import { GossipApiClient } from '../../services/gossip/api-client.js';
import { parseHostPort } from '../../services/gossip/config.js';
import { ArgumentError } from '../../util/errors.js';
import { type Command, parseCommandArgs } from '../command.js';

const HELP = `Usage: tollgate gossip-client --api ADDR notify TYPE [--reject] [--count N]
       tollgate gossip-client --api ADDR announce TYPE DATA [--ttl N] [--hex]

  notify     subscribe to data type TYPE, print each notification, answer it with a
             VALIDATION (valid; invalid with --reject); runs until SIGINT/SIGTERM or N
             notifications (--count)
  announce   send NOTIFY(TYPE) then ANNOUNCE(TYPE, DATA) and exit

Options:
  --api ADDR   the peer's api_address, e.g. 127.0.0.1:7001 or [::1]:7001
  --ttl N      hops (0 = unlimited, the default)
  --hex        DATA is hex (default: the text as UTF-8)
  --reject     answer notifications as invalid (V = 0)
  --count N    notify: exit after N notifications`;

function integer(name: string, text: string, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) > max)
    throw new ArgumentError(name, `expected an integer in 0..${max}`);
  return Number(text);
}

const command: Command = {
  async run(argv) {
    const parsed = parseCommandArgs(
      argv,
      {
        api: { type: 'string' },
        ttl: { type: 'string' },
        hex: { type: 'boolean' },
        reject: { type: 'boolean' },
        count: { type: 'string' },
      },
      HELP,
      true,
    );
    if (parsed === null) return 0;
    const { values, positionals } = parsed;
    if (values.api === undefined) throw new ArgumentError('--api', "required (the peer's api_address)");
    const api = parseHostPort(values.api);
    if (typeof api === 'string') throw new ArgumentError('--api', api);
    const [action, typeText, data] = positionals;
    if (action !== 'notify' && action !== 'announce')
      throw new ArgumentError('action', 'expected notify or announce');
    if (typeText === undefined) throw new ArgumentError('TYPE', 'missing data type');
    const dataType = integer('TYPE', typeText, 0xffff);
    const client = await GossipApiClient.connect(api);

    if (action === 'announce') {
      if (data === undefined) throw new ArgumentError('DATA', 'missing');
      if (values.hex === true && !/^(?:[0-9a-fA-F]{2})*$/.test(data))
        throw new ArgumentError('DATA', 'not hex');
      const bytes = values.hex === true ? Buffer.from(data, 'hex') : Buffer.from(data, 'utf8');
      const ttl = values.ttl === undefined ? 0 : integer('--ttl', values.ttl, 255);
      client.notify(dataType);
      client.announce(dataType, bytes, ttl);
      await client.close();
      process.stdout.write(`announced ${bytes.length} bytes of type ${dataType} (ttl ${ttl})\n`);
      return 0;
    }

    const limit =
      values.count === undefined ? Number.POSITIVE_INFINITY : integer('--count', values.count, 1e9);
    const valid = values.reject !== true;
    let seen = 0;
    client.notify(dataType);
    process.stdout.write(`subscribed to type ${dataType} at ${values.api}\n`);
    return new Promise<number>((resolve) => {
      const stop = (code: number) => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        client.close().then(() => resolve(code));
      };
      const onSignal = () => stop(0);
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      client.onNotification((n) => {
        const text = Buffer.from(n.data).toString('utf8');
        const printable = /^[\x20-\x7e]*$/.test(text)
          ? JSON.stringify(text)
          : `0x${Buffer.from(n.data).toString('hex')}`;
        process.stdout.write(`notification id=${n.messageId} type=${n.dataType} data=${printable}\n`);
        client.validate(n.messageId, valid);
        if (++seen >= limit) stop(0);
      });
      client.closed.then(() => {
        if (seen < limit) {
          process.stderr.write(
            `tollgate: the peer closed the API connection${client.closedReason ? ` (${client.closedReason})` : ''}\n`,
          );
          resolve(1);
        }
      });
    });
  },
};

export default command;
