// BullMQ's delayed jobs under the same load as herald's scheduler in scripts/bench-scheduler:
// COUNT jobs due evenly over SPREAD_MS (0: all at one instant), processed by WORKERS workers
// (concurrency 100, no-op), lateness = processing start - due time. Each job carries a payload of
// MESSAGE_BYTES (default 256, as herald's messages in the benchmark), and Redis's used_memory is
// read before adding the jobs and after, before the first is due, for the bytes per pending job.
// Prints one JSON line.
import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';

const count = Number(process.env.COUNT ?? 50000);
const spread = Number(process.env.SPREAD_MS ?? 10000);
const workers = Number(process.env.WORKERS ?? 1);
const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const connection = { host: url.hostname, port: Number(url.port || 6379) };
const name = `herald-bench-${process.pid}`;
const payload = 'x'.repeat(Number(process.env.MESSAGE_BYTES ?? 256));

const queue = new Queue(name, { connection });
const redis = new IORedis(connection);
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
const lateness = [];
let lastDone = 0;
let resolveAll;
const all = new Promise(r => { resolveAll = r; });
const pool = [];
for (let i = 0; i < workers; i++) {
  pool.push(new Worker(name, async job => {
    const now = Date.now();
    lateness.push(now - job.data.due);
    lastDone = now;
    if (lateness.length === count) resolveAll();
  }, { connection, concurrency: 100 }));
}

const memoryBefore = await usedMemory();
const start = Date.now() + 15000;
for (let i = 0; i < count; i += 1000) {
  const jobs = [];
  for (let j = i; j < Math.min(count, i + 1000); j++) {
    const due = start + (spread > 0 ? Math.floor(j * spread / count) : 0);
    jobs.push({ name: 'm', data: { due, payload }, opts: { delay: due - Date.now(), removeOnComplete: true } });
  }
  await queue.addBulk(jobs);
}
const bytesPerPending = Date.now() < start ? Math.round((await usedMemory() - memoryBefore) / count) : null;
await all;
lateness.sort((a, b) => a - b);
const q = p => lateness[Math.min(lateness.length - 1, Math.floor(p * lateness.length))];
const lastDue = start + (spread > 0 ? Math.floor((count - 1) * spread / count) : 0);
console.log(JSON.stringify({ peer: 'bullmq', workers, count, spread_ms: spread, p50_ms: q(0.5), p99_ms: q(0.99), max_ms: lateness[lateness.length - 1], drain_ms: lastDone - lastDue, bytes_per_pending: bytesPerPending }));
await Promise.all(pool.map(w => w.close()));
await queue.obliterate({ force: true });
await queue.close();
redis.disconnect();
