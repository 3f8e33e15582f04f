// The whole channel suite and the committed vectors again, on the node:crypto data path (the
// native AES-GCM turned off for this process), so that both paths stay tested.
import { setNativeGcmEnabled } from '../../src/pow/native.js';

setNativeGcmEnabled(false);
await import('./channel.test.js');
await import('./vectors.test.js');
