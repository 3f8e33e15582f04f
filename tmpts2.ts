import { tsBackend } from './src/pow/ts-backend.ts';
const ch = new Uint8Array(16).map((_, i) => i * 17);
let start = 0n;
const cpu = () => process.cpuUsage().user / 1000;
for (let k = 0; k < 40; k++) {
  const t = cpu();
  let a = 0;
  for (let j = 0; j < 8; j++) { a += tsBackend.searchSha256Bits(ch, 64, start, 1 << 16).attempts; start += 65536n; }
  const ms = cpu() - t;
  if (k % 4 === 0) console.log(k, (a / ms / 1000).toFixed(2), 'M/s');
}
