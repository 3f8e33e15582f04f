import { MemoryStore } from '../../src/admission/store.js';
import { storeContract } from '../helpers/store-contract.js';

storeContract('MemoryStore', { make: () => new MemoryStore({ bucketMs: 10 }) });
