/**
 * What checking claims costs the daemon (docs/VERIFICATION.md): a real daemon, three honest inference
 * servers (probed) and three CPU-bound agents claiming science (judged passively), for 20 s;
 * the claim verifier's CPU (tracing, probes, judging: `snapshot().verification.costS`) against
 * the traced agents' CPU from their cgroups. Goal < 1 %. Needs root (cgroups); says why not
 * otherwise.
 */
import { loadClaimModel } from '../src/verification/service/claim-verifier.js';
import { honestServers, runDaemonBatch, type ClaimAgentSpec } from '../src/research/claims-in-daemon.js';

export interface ClaimsBench {
  readonly skipped: string | null;
  readonly seconds: number;
  readonly agents: number;
  readonly verifierCpuS: number;
  readonly tracedCpuS: number;
  readonly fraction: number;
  readonly verdict: 'PASS' | 'MISS' | 'SKIP';
}

const GOAL = 0.01;

export async function benchClaims(seconds = 20): Promise<ClaimsBench> {
  if (process.getuid?.() !== 0) return { skipped: 'needs root (agents run in cgroups)', seconds, agents: 0, verifierCpuS: 0, tracedCpuS: 0, fraction: Number.NaN, verdict: 'SKIP' };
  const science: ClaimAgentSpec[] = Array.from({ length: 3 }, (_, i) => ({ id: `science-${String(i)}`, name: 'scientist.js, claims science', honest: true, claims: 'science', command: process.execPath, args: [new URL('../src/agents/scientist.js', import.meta.url).pathname, '--method', 'mr'] }));
  const agents = [...honestServers(51), ...science];
  const run = await runDaemonBatch({ agents, seconds, model: loadClaimModel('shipped'), tag: 'bcl' });
  const fraction = run.tracedCpuS > 0 ? run.verifierCpuS / run.tracedCpuS : Number.NaN;
  return { skipped: null, seconds, agents: agents.length, verifierCpuS: run.verifierCpuS, tracedCpuS: run.tracedCpuS, fraction, verdict: fraction < GOAL ? 'PASS' : 'MISS' };
}

export function formatClaims(b: ClaimsBench): string {
  if (b.skipped !== null) return `\nClaim verification cost: skipped (${b.skipped})\n`;
  return `\nClaim verification cost, ${String(b.agents)} agents with claims in a real daemon for ${String(b.seconds)} s: the verifier used ${b.verifierCpuS.toFixed(3)} s of CPU beside ${b.tracedCpuS.toFixed(1)} s of the traced agents' CPU: ${(100 * b.fraction).toFixed(2)} % (goal < 1 %: ${b.verdict})\n`;
}
