// Offline proof: local mode in a network namespace with no interface but loopback
// (`unshare -n`, as root; `unshare -rn` otherwise). code-server, Chromium, the extension host and
// llama-server run the whole journey in there (test/e2e/offline-journey.ts) under
// `strace -f`, which records every connect/sendto/sendmsg any of them makes: the question is
// answered, and not one of those calls named an address other than loopback.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { OfflineJourneyResult } from './offline-journey';
import { REPO_ROOT } from './harness';
import { tinyModel } from '../integration/support';

/** A socket address as strace prints it (connect, sendto, or msg_name of sendmsg/sendmmsg). */
const INET = /sa_family=AF_INET6?,[^}]*?(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")/g;

/** Chromium's browser process and its children (which it starts as /proc/self/exe --type=…). */
function isChromium(program: string): boolean {
  return /^\/usr\/lib\/chromium\/|^\/proc\/self\/exe --type=/.test(program);
}

function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./i.test(address);
}

interface InetCall {
  /** The program that made it: the last execve of its thread or an ancestor. */
  program: string;
  address: string;
  /** A connect() on a UDP socket: sets the socket's route, sends nothing. */
  udpConnect: boolean;
  line: string;
}

/**
 * The internet addresses in a strace -f log, one entry per call, each with the program that
 * made it (threads and forks inherit the program of the thread that cloned them).
 */
/** strace's lines with each call split by another thread (`<unfinished ...>` … `<... x resumed>`) joined again. */
function joinedCalls(trace: string): string[] {
  const pending = new Map<string, string>();
  const out: string[] = [];
  for (const line of trace.split('\n')) {
    const tid = /^(\d+) +/.exec(line)?.[1];
    if (!tid) continue;
    if (line.endsWith('<unfinished ...>')) {
      pending.set(tid, line.slice(0, -'<unfinished ...>'.length).trimEnd());
      continue;
    }
    const resumed = /^\d+ +<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed && pending.has(tid)) {
      out.push(pending.get(tid)! + resumed[1]);
      pending.delete(tid);
    } else out.push(line);
  }
  return out;
}

function inetCalls(trace: string): InetCall[] {
  const lines = joinedCalls(trace);
  const tidOf = (line: string) => Number(/^(\d+) +/.exec(line)?.[1]);
  // Pass 1: who cloned whom, and which clones are threads (they share their process's fds).
  const parent = new Map<number, number>();
  const isThread = new Set<number>();
  for (const line of lines) {
    const child = /^\d+ +(?:clone3?|v?fork)\(.*\) += (\d+)$/.exec(line);
    if (!child) continue;
    parent.set(Number(child[1]), tidOf(line));
    if (line.includes('CLONE_THREAD')) isThread.add(Number(child[1]));
  }
  const processOf = (tid: number): number => {
    let p = tid;
    for (let hops = 0; isThread.has(p) && parent.has(p) && hops < 64; hops++) p = parent.get(p)!;
    return p;
  };
  // Pass 2: programs (execve), UDP sockets per process and fd, and every internet address.
  const program = new Map<number, string>();
  const udpSockets = new Set<string>();
  const calls: { tid: number; address: string; udpConnect: boolean; line: string }[] = [];
  for (const line of lines) {
    const tid = tidOf(line);
    if (!tid) continue;
    const exec = /execve\("[^"]*", \[([^\]]*)\]/.exec(line);
    if (exec && !/= -1 /.test(line)) program.set(tid, exec[1]!.replace(/"/g, '').split(', ').slice(0, 3).join(' ').slice(0, 160));
    const socket = /^\d+ +socket\(AF_INET6?, SOCK_(\w+).*\) += (\d+)$/.exec(line);
    if (socket) udpSockets[socket[1] === 'DGRAM' ? 'add' : 'delete'](`${processOf(tid)}:${socket[2]}`);
    const fd = /^\d+ +connect\((\d+),/.exec(line)?.[1];
    const udpConnect = fd !== undefined && udpSockets.has(`${processOf(tid)}:${fd}`);
    for (const m of line.matchAll(INET)) calls.push({ tid, address: m[1] ?? m[2]!, udpConnect, line: line.slice(0, 240) });
  }
  const programOf = (tid: number): string => {
    for (let p: number | undefined = tid, hops = 0; p !== undefined && hops < 64; p = parent.get(p), hops++) {
      const name = program.get(p);
      if (name) return name;
    }
    return `pid ${tid}`;
  };
  return calls.map((c) => ({ program: programOf(c.tid), address: c.address, udpConnect: c.udpConnect, line: c.line }));
}

describe('offline proof', () => {
  it('answers in a network namespace with only loopback, and nothing tries to reach another address', () => {
    tinyModel('grounding'); // generated before entering the namespace
    const dir = mkdtempSync(join(tmpdir(), 'lens-offline-proof-'));
    const result = join(dir, 'result.json');
    const trace = join(dir, 'strace.log');
    const unshare = process.getuid?.() === 0 ? ['-n'] : ['-rn'];
    const journey = [
      'strace', '-f', '--seccomp-bpf', '-qq', '-e', 'signal=none', '-e', 'trace=socket,connect,sendto,sendmsg,sendmmsg,execve,clone,clone3,fork,vfork', '-o', trace,
      process.execPath, '--import', 'tsx', join(REPO_ROOT, 'test', 'e2e', 'offline-journey.ts'), result,
    ];
    const r = spawnSync('unshare', [...unshare, '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...journey], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 240_000,
    });
    assert.equal(r.status, 0, `the journey in the namespace failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);

    const seen = JSON.parse(readFileSync(result, 'utf8')) as OfflineJourneyResult;
    assert.deepEqual(seen.interfaces, ['lo'], 'the namespace has loopback only');
    assert.equal(seen.answer, tinyModel('grounding').answer, 'the question was answered');
    assert.equal(seen.boxes, 3, 'with its boxes drawn');

    const calls = inetCalls(readFileSync(trace, 'utf8'));
    // Chromium talks to code-server over 127.0.0.1: proof the trace saw the processes' sockets.
    assert.ok(calls.some((c) => isLoopback(c.address)), `the trace recorded loopback connections (${calls.length} internet calls)`);
    const outside = calls.filter((c) => !isLoopback(c.address));
    const describe = (cs: InetCall[]) => [...new Set(cs.map((c) => `${c.program} → ${c.address}${c.udpConnect ? ' (UDP connect)' : ''}`))];
    // code-server (VS Code's server and extension host) and the extension's llama-server: not one attempt.
    const vscodeAndExtension = outside.filter((c) => !isChromium(c.program));
    assert.deepEqual(describe(vscodeAndExtension), [], `VS Code and the extension tried no other address; first: ${vscodeAndExtension[0]?.line}`);
    // The test's Chromium (standing in for VS Code's window) probes IPv6 reachability with a UDP
    // connect to a public address, which sends no packet; nothing else, and no data, went out.
    const sent = outside.filter((c) => !c.udpConnect);
    assert.deepEqual(describe(sent), [], `nothing sent to, or connected over TCP to, a non-loopback address; first: ${sent[0]?.line}`);
    console.log(`${calls.length} socket calls with an internet address; off loopback only: ${describe(outside).join('; ') || 'none'}`);
  });
});
