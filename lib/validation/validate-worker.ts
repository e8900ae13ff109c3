/**
 * A worker thread of `npm run validate` (build/validate-worker.js): reads the
 * parts of large manifest files it is given and posts the results back
 * (lib/validation/parallel-reader.ts).
 */
import { parentPort, workerData } from 'worker_threads';
import { Part, readParts } from './parallel-reader';

parentPort?.postMessage(readParts(workerData as Part[]));
