import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';

/**
 * A redis-server of the test's own on `port`, without persistence (killed and started again, it
 * comes back empty; stopped with SIGSTOP, it freezes), returned once it answers.
 */
export async function startPrivateRedis(port: number): Promise<ChildProcess> {
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
  // Refused until the server listens: ioredis retries every 50 ms.
  client.on('error', () => {});
  await client.connect().catch(() => undefined);
  await client.ping();
  client.disconnect();
  return server;
}
