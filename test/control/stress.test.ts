import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlServer, type ControlLogLevel } from '../../host/control/control-server.js';
import { prng } from '../helpers/prng.js';

/**
 * Seed 2 (QEMU char-socket): a disconnect racing a write, and a per-connection resource never
 * released. Thousands of connections come and go, many of them mid-write during an event storm;
 * afterwards nothing may be left: no client, no watcher, no handle, no request, no timer, no heap.
 */

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pc-control-stress-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));


function countByType(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of list) out[t] = (out[t] ?? 0) + 1;
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await sleep(5);
  }
  return pred();
}

/**
 * One client connection driven by `script`; resolves when its socket has closed. With `maxLifeMs`
 * the client leaves by then whatever its script waits for, so no client outlives the storm.
 */
function client(path: string, script: (s: net.Socket, onData: (fn: (chunk: Buffer) => void) => void) => void, maxLifeMs?: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.createConnection(path);
    const life = maxLifeMs === undefined ? null : setTimeout(() => s.destroy(), maxLifeMs);
    s.on('error', () => {}); // ECONNRESET / EPIPE are what this test is about
    s.on('close', () => {
      if (life) clearTimeout(life);
      resolve();
    });
    s.on('connect', () =>
      script(s, (fn) => {
        s.on('data', fn);
      }),
    );
  });
}

describe('control socket stress (seed 2)', () => {
  it('10,000 connect/disconnect cycles, then clients leaving mid-write during an event storm: no crash, nothing left behind', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(typeof gc).toBe('function');
    const faults: unknown[] = [];
    const onFault = (e: unknown): void => {
      faults.push(e);
    };
    const onWarning = (w: Error): void => {
      faults.push(w);
    };
    process.on('unhandledRejection', onFault);
    process.on('uncaughtException', onFault);
    process.on('warning', onWarning);
    try {
      gc!();
      const heapBefore = process.memoryUsage().heapUsed;
      const resourcesBefore = countByType(process.getActiveResourcesInfo());

      const random = prng(0x5eed2);
      const logLevels: Record<ControlLogLevel, number> = { error: 0, warn: 0, info: 0, debug: 0 };
      const path = join(dir, 'stress.sock');
      const server = new ControlServer({
        path,
        maxQueue: { messages: 64 },
        log: (level) => {
          logLevels[level]++;
        },
        handler: async (req) => {
          if (req.command === 'slow') await sleep(1 + Math.floor(random() * 3));
          return { command: req.command };
        },
      });
      await server.listen();

      // Phase 1: connect/disconnect cycles, 32 at a time, bounded by count and by 60 s.
      const CYCLES = 10_000;
      const cycleDeadline = Date.now() + 60_000;
      let started = 0;
      const t0 = performance.now();
      const kinds = [
        // connect, leave at once
        (s: net.Socket) => s.destroy(),
        // a request, its answer, then a clean end
        (s: net.Socket, on: (fn: (c: Buffer) => void) => void) => {
          on(() => s.end());
          s.write('{"id":1,"command":"show paths"}\n');
        },
        // watch, then leave before (or while) the answer is written
        (s: net.Socket) => {
          s.write('{"command":"watch"}\n');
          s.destroy();
        },
        // a slow command, then leave: its answer comes after the disconnect
        (s: net.Socket) => {
          s.write('{"id":2,"command":"slow"}\n');
          s.destroy();
        },
        // half a line, then leave
        (s: net.Socket) => {
          s.write('{"id":3,"comm');
          s.destroy();
        },
        // EOF after a request: answered, then the server ends its side
        (s: net.Socket) => {
          s.end('{"id":4,"command":"slow"}\n');
          s.resume();
        },
      ];
      const cycler = async (): Promise<void> => {
        while (started < CYCLES && Date.now() < cycleDeadline) {
          const kind = kinds[started++ % kinds.length]!;
          await client(path, kind);
        }
      };
      await Promise.all(Array.from({ length: 32 }, cycler));
      const cycleSeconds = (performance.now() - t0) / 1000;
      const cyclesPerSecond = Math.round(started / cycleSeconds);
      expect(started).toBe(CYCLES);
      expect(await until(() => server.stats().clients === 0, 10_000)).toBe(true);
      expect(server.stats()).toMatchObject({ accepted: CYCLES, disconnected: CYCLES, clients: 0, watchers: 0 });

      // Phase 2: an event storm while watchers come and go at random points.
      const stormEnd = Date.now() + 8_000;
      let publishing = true;
      let published = 0;
      const publisher = (async () => {
        const pad = 'e'.repeat(64);
        for (let burst = 0; burst < 1_000_000 && publishing && Date.now() < stormEnd + 5_000; burst++) {
          for (let i = 0; i < 50; i++) server.publish({ seq: published++, pad });
          await tick();
        }
      })();
      let stormClients = 0;
      const leave = [
        // watch and leave at once
        (s: net.Socket) => {
          s.write('{"command":"watch"}\n');
          s.destroy();
        },
        // leave on the first bytes that arrive: the server is in the middle of writing to us
        (s: net.Socket, on: (fn: (c: Buffer) => void) => void) => {
          on(() => s.destroy());
          s.write('{"command":"watch"}\n');
        },
        // leave after a random number of chunks
        (s: net.Socket, on: (fn: (c: Buffer) => void) => void) => {
          let left = 1 + Math.floor(random() * 20);
          on(() => {
            if (--left === 0) s.destroy();
          });
          s.write('{"command":"watch"}\n');
        },
        // leave after a random delay, from a timer
        (s: net.Socket, on: (fn: (c: Buffer) => void) => void) => {
          on(() => {});
          s.write('{"command":"watch"}\n');
          setTimeout(() => s.destroy(), Math.floor(random() * 20));
        },
        // never read: dropped for a full queue, then leave
        (s: net.Socket) => {
          s.write('{"command":"watch"}\n');
          s.pause();
          setTimeout(() => s.destroy(), 50 + Math.floor(random() * 100));
        },
        // watch, a slow command, and leave while both are being answered
        (s: net.Socket, on: (fn: (c: Buffer) => void) => void) => {
          on(() => {
            if (random() < 0.3) s.destroy();
          });
          s.write('{"command":"watch"}\n{"id":5,"command":"slow"}\n{"id":6,"command":"slow"}\n');
          setTimeout(() => s.destroy(), 30);
        },
      ];
      const stormer = async (): Promise<void> => {
        for (let n = 0; n < 400 && Date.now() < stormEnd; n++) {
          stormClients++;
          await client(path, leave[Math.floor(random() * leave.length)]!, 200);
        }
      };
      await Promise.all(Array.from({ length: 16 }, stormer));
      publishing = false;
      await publisher;

      expect(await until(() => server.stats().clients === 0, 10_000)).toBe(true);
      const stats = server.stats();
      expect(stats).toMatchObject({ clients: 0, watchers: 0, accepted: CYCLES + stormClients, disconnected: CYCLES + stormClients });
      expect(stats.droppedClients['queue-full']).toBeGreaterThan(0);
      expect(stats.droppedWrites).toBeGreaterThan(0);
      expect(logLevels.error).toBe(0);
      await server.close();

      // Every handle, request and timer the test and the server made is gone. Timers are compared
      // as "no more than before": one of the runner's own may have fired meanwhile.
      const leftOver = (): string[] => {
        const now = countByType(process.getActiveResourcesInfo());
        return Object.keys({ ...now, ...resourcesBefore }).filter((t) =>
          t === 'Timeout' ? (now[t] ?? 0) > (resourcesBefore[t] ?? 0) : (now[t] ?? 0) !== (resourcesBefore[t] ?? 0),
        );
      };
      await until(() => leftOver().length === 0, 5_000);
      const resourcesAfter = countByType(process.getActiveResourcesInfo());
      expect(leftOver(), `resources before ${JSON.stringify(resourcesBefore)}, after ${JSON.stringify(resourcesAfter)}`).toEqual([]);

      gc!();
      await tick();
      gc!();
      const heapAfter = process.memoryUsage().heapUsed;
      const heapGrowthMB = (heapAfter - heapBefore) / 2 ** 20;
      expect(heapGrowthMB).toBeLessThan(20);
      expect(faults).toEqual([]);

      console.info(
        `control stress: ${CYCLES} connect/disconnect cycles in ${cycleSeconds.toFixed(2)} s = ${cyclesPerSecond} cycles/s; ` +
          `storm: ${stormClients} watchers, ${published} events, ${stats.droppedClients['queue-full']} dropped for a full queue, ` +
          `${stats.droppedClients['socket-error']} lost to socket errors, ${stats.droppedWrites} writes after disconnect dropped; ` +
          `heap ${heapGrowthMB >= 0 ? '+' : ''}${heapGrowthMB.toFixed(1)} MB; resources ${JSON.stringify(resourcesAfter)}`,
      );
    } finally {
      process.off('unhandledRejection', onFault);
      process.off('uncaughtException', onFault);
      process.off('warning', onWarning);
    }
  }, 120_000);
});
