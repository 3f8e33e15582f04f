/**
 * One local module of bench:gossip part (b), in its own process as a VoidPhone module is:
 * subscribes to type 7 at the peer's API port (argv[2]), validates every NOTIFICATION at once
 * and writes `<seq> <arrival ms since the epoch>` lines to stdout, a batch per tick. The peer
 * spreads an item only after its modules validated it, so a module that answers late delays
 * every hop: in one shared bench process the modules of all peers queued behind each other.
 */
import { GossipApiClient } from '../src/services/gossip/api-client.js';

const port = Number(process.argv[2]);
const client = await GossipApiClient.connect({ host: '127.0.0.1', port });
let lines = '';
client.onNotification((n) => {
  client.validate(n.messageId, true);
  const at = performance.timeOrigin + performance.now();
  const seq = ((n.data[0]! << 24) | (n.data[1]! << 16) | (n.data[2]! << 8) | n.data[3]!) >>> 0;
  if (lines === '') setImmediate(flush);
  lines += `${seq} ${at}\n`;
});
function flush(): void {
  process.stdout.write(lines);
  lines = '';
}
client.notify(7);
process.stdout.write('subscribed\n');
process.stdin.resume();
process.stdin.on('end', () => {
  void client.close().then(() => process.exit(0));
});
