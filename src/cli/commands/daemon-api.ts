/**
 * The commands that talk to a running daemon through its control API: `agent spawn|stop|bid`,
 * `agents`, `wallet`, `status`, `decisions`, `watch`. They find the daemon through
 * `<state.dir>/daemon.json`, or `--url`/`--token` (`MAXWELL_API_URL`/`MAXWELL_API_TOKEN`).
 */
import { Option, type Command } from 'commander';
import { AGENT_ID_RULE } from '../../agent-id.js';
import { WORK_CLASSES, type WorkClass } from '../../verification/trace/classes.js';
import { ApiClient, resolveApiEndpoint } from '../../api/client.js';
import type { AgentView, DaemonSnapshot, Decision, FleetSnapshot, InferenceAnswer, SpawnRequest, TickEvent, WalletView } from '../../api/control.js';
import { InvalidArgumentError } from '../../errors.js';
import type { Plane } from '../../market/order-book.js';
import { RUNTIME_KINDS, type RuntimeKind } from '../../runtimes/runtime.js';
import { fmt, formatTable, toJson, type CliIo } from '../output.js';
import { addConfigFlags, configFor, type ConfigFlag, type GlobalOptions } from './common.js';

type Env = Readonly<Record<string, string | undefined>>;

const STATE_FLAGS: readonly ConfigFlag[] = [{ flags: '--state-dir <dir>', description: "the daemon's state folder, holding daemon.json", property: 'stateDir', key: 'state.dir' }];

const SI_PREFIX: Readonly<Record<string, number>> = { '': 1, u: 1e-6, µ: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9 };

/**
 * Parses an amount of energy: `5000`, `5000J`, `5kJ`, `2.5 MJ`, `20mJ`, `0.02`. The unit `J` may
 * be left out only without a prefix (`5k` is refused: kilo or milli would be a guess). Refuses
 * negative, non-finite and malformed values, naming `what`.
 */
export function parseJoules(text: string, what: string): number {
  const match = /^\s*(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d{1,3}))?\s*(?:([uµmkMG]?)J)?\s*$/.exec(text);
  if (match === null) throw new InvalidArgumentError(`invalid ${what} "${text}": an amount of joules such as 5000, 5000J, 5kJ or 20mJ is required`);
  const value = Number(`${match[1] ?? ''}e${match[2] ?? '0'}`) * (SI_PREFIX[match[3] ?? ''] ?? 1);
  if (!Number.isFinite(value)) throw new InvalidArgumentError(`invalid ${what} "${text}": not a finite amount`);
  return value;
}

function positiveJoules(text: string, what: string): number {
  const value = parseJoules(text, what);
  if (value <= 0) throw new InvalidArgumentError(`invalid ${what} "${text}": more than 0 J is required`);
  return value;
}

const BINARY_PREFIX: Readonly<Record<string, number>> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** Parses a size in bytes: `67108864`, `64M`, `64MiB`, `1.5GiB` (prefixes are binary, as for cgroups' memory.max). */
export function parseBytes(text: string, what: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:([kKmMgGtT])(?:i?B)?|B)?\s*$/.exec(text);
  if (match === null) throw new InvalidArgumentError(`invalid ${what} "${text}": a size such as 67108864, 64M, 64MiB or 1GiB is required`);
  return Math.floor(Number(match[1]) * (BINARY_PREFIX[(match[2] ?? '').toLowerCase()] ?? 1));
}

function positiveInt(text: string, what: string): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw new InvalidArgumentError(`invalid ${what} "${text}": a positive integer is required`);
  return Number(text);
}

interface ApiOptions extends Record<string, unknown> {
  readonly url?: string;
  readonly token?: string;
}

/** Adds the flags every API command takes. */
function apiCommand(command: Command): Command {
  return addConfigFlags(
    command
      .option('--url <url>', `control API of the daemon (default: $MAXWELL_API_URL, else daemon.json)`)
      .option('--token <token>', 'its bearer token (default: $MAXWELL_API_TOKEN, else daemon.json)')
      .option('--json', 'print one JSON document on stdout'),
    STATE_FLAGS,
  );
}

function clientFor(options: ApiOptions, cmd: Command, env: Env): ApiClient {
  const config = configFor(options, cmd.optsWithGlobals<GlobalOptions>(), STATE_FLAGS, env);
  return new ApiClient(resolveApiEndpoint({ url: options.url, token: options.token, env, stateDir: config.state.dir }));
}

function isJson(cmd: Command): boolean {
  return cmd.optsWithGlobals<GlobalOptions>().json === true;
}

const j = (joules: number, decimals = 3): string => `${fmt(joules, decimals)} J`;

/** `maxwell fleet`: one row per member, then the stress and the drops. */
export function formatFleet(fleet: FleetSnapshot): string {
  let out = fleet.enabled ? `fleet: node ${fleet.id ?? '?'} gossiping on ${fleet.address ?? '?'} (SWIM + Lifeguard, push-sum; signed UDP)\n` : 'fleet: off (fleet.enabled is false): this node alone\n';
  out += formatTable([
    ['node', 'id', 'address', 'state', 'headroom', 'trust', 'price J/quantum', 'power W', 'zone/row/rack/chassis', 'api'],
    ...fleet.members.map((m) => [`${m.nodeName}${m.self ? ' (this)' : ''}`, m.id.slice(0, 10), m.addr, m.state, fmt(m.headroom, 2), m.self ? '-' : fmt(m.trust, 2), fmt(m.meanPriceJ, 4), fmt(m.powerW, 1), `${m.location.zone}/${m.location.row}/${m.location.rack}/${m.location.chassis}`, m.apiUrl ?? '-']),
  ]);
  const damped = fleet.members.filter((m) => m.distrusted !== null);
  if (damped.length > 0) out += `damped (their stress and push-sum shares count × trust; below 0.5 nothing is placed on them):\n${damped.map((m) => `  ${m.nodeName}: trust ${fmt(m.trust, 2)}: ${m.distrusted ?? ''}\n`).join('')}`;
  const a = fleet.aggregate;
  if (a !== null) out += `push-sum epoch ${String(a.epoch)}: ${String(a.members)} members, mean headroom ${fmt(a.meanHeadroom, 3)}, mean price ${fmt(a.meanPriceJ, 4)} J, total power ${fmt(a.totalPowerW, 1)} W (MODELLED where the nodes' power is)\n`;
  if (a?.zone != null) out += `  zone ${a.zone.name}: ${String(a.zone.members)} members, mean headroom ${fmt(a.zone.meanHeadroom, 3)}, mean price ${fmt(a.zone.meanPriceJ, 4)} J, total power ${fmt(a.zone.totalPowerW, 1)} W\n`;
  out += `stress from coupled neighbours ${fmt(fleet.stress.external, 3)} → price multiplier ${fmt(fleet.stress.multiplier, 3)}, applied ${fmt(fleet.stress.applied, 3)} (fleet.maxPriceMultiplier caps it)\n`;
  const drops = Object.entries(fleet.drops).filter(([, n]) => n > 0);
  out += `dropped (datagrams and frames by reason; refused-member: gossip about members not admitted; refused-relay: ping-reqs for a target this node does not know): ${drops.length === 0 ? 'none' : drops.map(([why, n]) => `${why} ${String(n)}`).join(', ')}\n`;
  if (fleet.enabled) out += `push-pulls over TCP: ${String(fleet.pushPulls.stream)} done, ${String(fleet.pushPulls.failed)} fell back to a datagram\n`;
  return out;
}

/** `maxwell infer`: the answer, what it earned, and each layer's verdict with where its numbers came from. */
export function formatInference(answer: InferenceAnswer): string {
  const o = answer.observed;
  let out = `request ${String(answer.requestId)} on ${answer.agentId}: ${JSON.stringify(answer.text)}\n`;
  out += `outcome ${answer.outcome}: income ${j(answer.incomeJ, 4)}${answer.slashedJ > 0 ? `, stake slashed ${j(answer.slashedJ)}` : ''}; audit probability ${fmt(answer.auditProbability, 4)}\n`;
  out += `observed by the daemon (MEASURED): first token ${fmt(o.prefillMs, 2)} ms after the request, ${fmt(o.decodeMeanMs, 2)} ms between tokens, ${fmt(o.cpuMsPerToken, 3)} CPU ms per token (${o.cpuSource})\n`;
  out += formatTable([
    ['layer', 'ran', 'verdict', 'reason'],
    ...answer.layers.map((l) => [`${String(l.layer)} ${l.name}`, l.ran ? 'yes' : l.selected ? 'selected, not run' : 'no', !l.ran ? '-' : l.passed ? 'passed' : l.evidence ? 'FAILED (evidence)' : 'failed (suspect)', l.reasons[0] ?? '']),
  ]);
  return out;
}

/** The agents table of `maxwell agents` and `maxwell status`. */
export function formatAgents(agents: readonly AgentView[]): string {
  if (agents.length === 0) return 'No agents.\n';
  return formatTable([
    ['id', 'role', 'runtime', 'phase', 'pid', 'balance', 'bid/quantum', 'plane', 'won', 'paid', 'income', 'primes', 'socket', 'claim'],
    ...agents.map((a) => [
      a.id,
      a.role,
      a.runtime,
      a.phase,
      a.pid === null ? '-' : String(a.pid),
      j(a.balanceJ),
      a.bid === null ? '-' : j(a.bid.pricePerQuantumJ, 4),
      a.bid?.plane ?? '-',
      String(a.quantaWon),
      j(a.paidJ),
      j(a.incomeJ),
      String(a.verifiedPrimes),
      a.connected ? 'connected' : '-',
      claimColumn(a),
    ]),
  ]);
}

/** The claim and how it is judged: `inference ok 0/12`, `inference FLAGGED 5/7` (inconsistent of judged windows). */
function claimColumn(a: AgentView): string {
  const v = a.verification;
  if (v === null) return '-';
  if (v.windows === 0) return `${v.claims} (not judged yet)`;
  return `${v.claims} ${v.flagged ? 'FLAGGED' : 'ok'} ${String(v.inconsistentWindows)}/${String(v.windows)}`;
}

function formatAgent(agent: AgentView, verb: string): string {
  let out = `${verb} agent ${agent.id} (${agent.role}, ${agent.runtime}, ${agent.phase}${agent.pid === null ? '' : `, pid ${String(agent.pid)}`}): balance ${j(agent.balanceJ)}`;
  if (agent.bid !== null) out += `, bid ${j(agent.bid.pricePerQuantumJ, 4)} per quantum on ${agent.bid.plane} (budget ${j(agent.bid.budgetJ)} per tick)`;
  if (agent.inference !== null) {
    const v = agent.inference;
    out += `\n  inference: ${v.serving ? 'serving' : 'not serving'}, stake ${j(v.stakeJ)} in escrow${v.slashedJ > 0 ? ` (${j(v.slashedJ)} slashed)` : ''}, ${String(v.requests)} requests, ${String(v.verifiedTokens)} verified tokens, ${String(v.suspectRequests)} suspect, audit ×${String(v.auditMultiplier)}`;
    if (v.lastFailure !== null) out += `\n  last failure: ${v.lastFailure}`;
  }
  if (agent.ended !== null) out += `\n  ended: ${agent.ended.reason} after ${fmt(agent.ended.survivalMs / 1000, 1)} s, final balance ${j(agent.ended.finalBalanceJ)}`;
  return `${out}\n`;
}

function formatWallet(wallet: WalletView): string {
  return `wallet of ${wallet.agentId}: ${j(wallet.balanceJ, 6)} (${wallet.balanceMicroJ} µJ)\n`;
}

/** The human form of `maxwell status`. */
export function formatStatus(s: DaemonSnapshot): string {
  let out = `Maxwell daemon: tick ${String(s.tick)} at ${fmt(s.rateHz, 0)} Hz, up ${fmt(s.uptimeMs / 1000, 1)} s\n`;
  out += `  power        ${fmt(s.powerW, 1)} W (${s.energySource})\n`;
  out += `  clearing p99 ${fmt(s.clearingP99Ms, 3)} ms; tick lateness p99 ${fmt(s.tickLatenessP99Ms, 2)} ms (since start)\n`;
  out += `  overhead     ${fmt(s.overheadFraction * 100, 1)} % of one core\n`;
  const f = s.foreignLoad;
  out += `  foreign load ${f.measured ? `${fmt(f.fraction * 100, 1)} % of the machine (other processes, measured)` : 'not measured (no per-CPU agent counter)'}; policy ${f.policy}\n`;
  if (s.failedTicks > 0) out += `  FAILED TICKS ${String(s.failedTicks)} (skipped; the daemon's stderr has each reason)\n`;
  const e = s.enforcement;
  out += `  enforcement  ${String(e.pauses)} pauses, ${String(e.resumes)} resumes, ${String(e.pins)} pins, ${String(e.quotas)} quota writes, ${String(e.failures)} failed\n`;
  out += `  ledger head  ${s.ledgerHead}\n\n`;
  out += formatTable([
    ['plane', 'unit', 'temp °C', 'setpoint °C', 'multiplier', 'reserve/quantum', 'allowed', 'temperature source'],
    ...s.planes.map((p) => [p.plane, String(p.unit), fmt(p.temperatureC, 1), fmt(p.setpointC, 1), fmt(p.multiplier, 3), j(p.reservePerQuantumJ, 4), fmt(p.allowance, 2), p.temperatureSource]),
  ]);
  return `${out}\n${formatAgents(s.agents)}`;
}

/** The human form of `maxwell decisions`. */
export function formatDecisions(decisions: readonly Decision[]): string {
  if (decisions.length === 0) return 'No decisions yet.\n';
  return formatTable([
    ['tick', 'action', 'agent', 'plane', 'because'],
    ...decisions.map((d) => [String(d.tick), d.action, d.agentId ?? '-', d.plane ?? '-', d.because]),
  ]);
}

/** One line per tick for `maxwell watch`. */
export function formatTick(event: TickEvent): string {
  const temps = event.temperaturesC.map((t) => fmt(t, 1)).join(' ');
  const reserves = event.reservePerQuantumJ.map((r) => fmt(r, 4)).join(' ');
  const awards = event.awards.map((a) => `${a.agentId}@${String(a.unit)}`).join(' ');
  let line = `tick ${String(event.tick)}  ${fmt(event.powerW, 1)} W  °C [${temps}]  reserve J [${reserves}]  won: ${awards === '' ? '-' : awards}\n`;
  for (const d of event.decisions) line += `  ${d.action} ${d.agentId ?? '-'}: ${d.because}\n`;
  return line;
}

/** What each command group is given. */
interface ApiCommandContext {
  readonly io: CliIo;
  readonly env: Env;
  /** Prints `value` as JSON under `--json`, else `human`. */
  readonly write: (cmd: Command, value: unknown, human: string) => void;
}

export function registerDaemonApi(program: Command, io: CliIo, env: Env): void {
  const context: ApiCommandContext = {
    io,
    env,
    write: (cmd, value, human) => {
      io.stdout.write(isJson(cmd) ? `${toJson(value)}\n` : human);
    },
  };
  // Registration order is the order `maxwell --help` lists them in.
  registerAgentCommands(program, context);
  registerInferCommand(program, context);
  registerFleetCommand(program, context);
  registerReadCommands(program, context);
  registerWatchCommand(program, context);
}

/** `maxwell agent spawn|stop|bid`. */
function registerAgentCommands(program: Command, context: ApiCommandContext): void {
  const agent = program.command('agent').description('spawn, stop and re-bid agents of the running daemon (through its control API)');
  registerAgentSpawn(agent, context);
  registerAgentStop(agent, context);
  registerAgentBid(agent, context);
}

type SpawnOptions = ApiOptions & { wallet: string; runtime: RuntimeKind; bid?: string; budget?: string; plane?: Plane; role?: 'scientist' | 'leech' | 'other'; id?: string; env?: string[]; claims?: WorkClass; stake?: string; fleet?: boolean; memory?: string };

function registerAgentSpawn(agent: Command, { env, write }: ApiCommandContext): void {
  apiCommand(
    agent
      .command('spawn')
      .description('start CMD ARGS… as an agent with a wallet and an opening bid, e.g. `maxwell agent spawn --wallet 5kJ --bid 0.02 -- node scientist.js`')
      .argument('<command>', 'the agent program (for --runtime wasm the .wasm file, for vm the guest program)')
      .argument('[args...]', 'its arguments (put -- before the command)')
      .requiredOption('--wallet <joules>', 'joules minted into its wallet: 5000, 5000J, 5kJ')
      .option('--bid <joules>', 'opening bid per 10 ms quantum, J')
      .option('--budget <joules>', 'most it spends per tick, J (default: its whole balance)')
      .addOption(new Option('--plane <plane>', 'what it bids for').choices(['cpu', 'gpu']))
      .addOption(new Option('--runtime <kind>', 'what runs it: a process in cgroups, a WASM module in a worker thread, or a QEMU VM').choices([...RUNTIME_KINDS]).default('process'))
      .addOption(new Option('--role <role>', 'its role in reports').choices(['scientist', 'leech', 'other']))
      .addOption(new Option('--claims <class>', 'the work class it claims: checked against what it does while it runs (an inference claimant must say serve on its socket and is sent probes); inconsistent windows in a row flag it (config verification.*, docs/VERIFICATION.md)').choices([...WORK_CLASSES]))
      .option('--fleet', 'place it on the fleet node where its bid buys the most (the cheapest alive node with headroom; docs/FLEET.md)')
      .option('--stake <joules>', 'joules of its wallet put in escrow: lets it serve inference (at least inference.minStakeJ); a proven cheat burns it')
      .option('--memory <bytes>', "its memory cap (process runtime: the cgroup's memory.max; over it, the kernel's OOM killer ends it): 67108864, 64M, 64MiB, 1GiB")
      .option('--id <id>', `its id: ${AGENT_ID_RULE} (default: generated)`)
      .option('--env <KEY=VALUE>', 'an environment variable for it (repeatable)', (value: string, previous: string[] | undefined) => [...(previous ?? []), value]),
  ).action(async (command: string, args: string[], options: SpawnOptions, cmd: Command) => {
    const request = spawnRequest(command, args, options);
    const client = clientFor(options, cmd, env);
    if (options.fleet === true) {
      const placed = await client.spawnOnFleet(request);
      write(cmd, placed, formatAgent(placed.agent, `placed on ${placed.node} (${placed.because}):`));
      return;
    }
    const view = await client.spawnAgent(request);
    write(cmd, view, formatAgent(view, 'spawned'));
  });
}

/** The spawn request `maxwell agent spawn` sends; refuses malformed flags before anything is sent. */
function spawnRequest(command: string, args: string[], options: SpawnOptions): SpawnRequest {
  if (options.bid === undefined && (options.budget !== undefined || options.plane !== undefined)) throw new InvalidArgumentError('--budget and --plane need --bid');
  const envVars = Object.fromEntries(
    (options.env ?? []).map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new InvalidArgumentError(`invalid --env "${pair}": KEY=VALUE is required`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  return {
    runtime: options.runtime,
    command,
    args,
    walletJ: positiveJoules(options.wallet, '--wallet'),
    ...(options.id === undefined ? {} : { id: options.id }),
    ...(options.role === undefined ? {} : { role: options.role }),
    ...(options.claims === undefined ? {} : { claims: options.claims }),
    ...(options.stake === undefined ? {} : { stakeJ: positiveJoules(options.stake, '--stake') }),
    ...(options.memory === undefined ? {} : { memoryLimitBytes: parseBytes(options.memory, '--memory') }),
    ...(options.env === undefined ? {} : { env: envVars }),
    ...(options.bid === undefined
      ? {}
      : {
          bid: {
            pricePerQuantumJ: parseJoules(options.bid, '--bid'),
            ...(options.budget === undefined ? {} : { budgetJ: positiveJoules(options.budget, '--budget') }),
            ...(options.plane === undefined ? {} : { plane: options.plane }),
          },
        }),
  };
}

function registerAgentStop(agent: Command, { env, write }: ApiCommandContext): void {
  apiCommand(agent.command('stop').description('stop an agent (its balance is refunded to the treasury)').argument('<id>', 'the agent')).action(
    async (id: string, options: ApiOptions, cmd: Command) => {
      const view = await clientFor(options, cmd, env).stopAgent(id);
      write(cmd, view, formatAgent(view, 'stopped'));
    },
  );
}

function registerAgentBid(agent: Command, { env, write }: ApiCommandContext): void {
  apiCommand(
    agent
      .command('bid')
      .description("set an agent's standing bid per 10 ms quantum")
      .argument('<id>', 'the agent')
      .argument('<price>', 'joules per quantum, e.g. 0.02 or 20mJ')
      .option('--budget <joules>', 'most it spends per tick, J')
      .addOption(new Option('--plane <plane>', 'what it bids for').choices(['cpu', 'gpu'])),
  ).action(async (id: string, price: string, options: ApiOptions & { budget?: string; plane?: Plane }, cmd: Command) => {
    const result = await clientFor(options, cmd, env).setBid(id, {
      pricePerQuantumJ: parseJoules(price, 'price'),
      ...(options.budget === undefined ? {} : { budgetJ: positiveJoules(options.budget, '--budget') }),
      ...(options.plane === undefined ? {} : { plane: options.plane }),
    });
    write(cmd, result, formatAgent(result.agent, `bid ${result.outcome} for`));
  });
}

function registerInferCommand(program: Command, { env, write }: ApiCommandContext): void {
  apiCommand(
    program
      .command('infer')
      .description('serve a prompt on a staked inference agent of the running daemon and show how each verification layer judged it (docs/VERIFICATION.md)')
      .argument('<prompt>', "the prompt, in the model's symbols (letters, digits are not in its vocabulary; unknown symbols become *)")
      .option('--tokens <n>', 'tokens to generate (at most inference.maxNewTokens)', '16')
      .option('--bid <joules>', 'what the request bids: layer 3 spot checks run at or above inference.spotCheckFromJ', '0')
      .option('--agent <id>', 'serve it on this agent (default: a serving agent, running ones first)'),
  ).action(async (prompt: string, options: ApiOptions & { tokens: string; bid: string; agent?: string }, cmd: Command) => {
    const answer = await clientFor(options, cmd, env).infer({
      prompt,
      maxNewTokens: positiveInt(options.tokens, '--tokens'),
      bidJ: parseJoules(options.bid, '--bid'),
      ...(options.agent === undefined ? {} : { agentId: options.agent }),
    });
    write(cmd, answer, formatInference(answer));
  });
}

function registerFleetCommand(program: Command, { env, write }: ApiCommandContext): void {
  apiCommand(program.command('fleet').description('the fleet as this node sees it: members, their state, headroom, prices and power, the stress felt and the price multiplier applied')).action(
    async (options: ApiOptions, cmd: Command) => {
      const fleet = await clientFor(options, cmd, env).fleet();
      write(cmd, fleet, formatFleet(fleet));
    },
  );
}

/** `maxwell agents`, `wallet`, `status` and `decisions`: one request, one answer printed. */
function registerReadCommands(program: Command, { env, write }: ApiCommandContext): void {
  apiCommand(program.command('agents').description("the running daemon's agents")).action(async (options: ApiOptions, cmd: Command) => {
    const agents = await clientFor(options, cmd, env).listAgents();
    write(cmd, agents, formatAgents(agents));
  });

  apiCommand(
    program
      .command('wallet')
      .description("an agent's wallet; --top-up mints joules into it (rescues an agent in its grace period)")
      .argument('<id>', 'the agent')
      .option('--top-up <joules>', 'joules to mint into it: 500, 500J, 1kJ'),
  ).action(async (id: string, options: ApiOptions & { topUp?: string }, cmd: Command) => {
    const client = clientFor(options, cmd, env);
    const wallet = options.topUp === undefined ? await client.wallet(id) : await client.topUp(id, positiveJoules(options.topUp, '--top-up'));
    write(cmd, wallet, formatWallet(wallet));
  });

  apiCommand(program.command('status').description('the running daemon: planes with temperatures and their source, prices, agents, power, clearing p99, overhead')).action(
    async (options: ApiOptions, cmd: Command) => {
      const snapshot = await clientFor(options, cmd, env).snapshot();
      write(cmd, snapshot, formatStatus(snapshot));
    },
  );

  apiCommand(
    program
      .command('decisions')
      .description('the explainable decision log: every pause, throttle or kill and what caused it')
      .option('--limit <n>', 'the last n decisions', '50'),
  ).action(async (options: ApiOptions & { limit: string }, cmd: Command) => {
    const decisions = await clientFor(options, cmd, env).decisions(positiveInt(options.limit, '--limit'));
    write(cmd, decisions, formatDecisions(decisions));
  });
}

function registerWatchCommand(program: Command, { io, env }: ApiCommandContext): void {
  apiCommand(
    program
      .command('watch')
      .description('stream ticks as they happen (with --json: one JSON document per line); Ctrl-C stops')
      .option('--every <n>', 'show one tick in n (the daemon ticks at 100 Hz)', '50')
      .option('--count <n>', 'stop after n ticks'),
  ).action(async (options: ApiOptions & { every: string; count?: string }, cmd: Command) => {
    const every = positiveInt(options.every, '--every');
    const count = options.count === undefined ? Infinity : positiveInt(options.count, '--count');
    const json = isJson(cmd);
    const client = clientFor(options, cmd, env);
    const stop = new AbortController();
    const onSignal = (): void => {
      stop.abort();
    };
    process.once('SIGINT', onSignal);
    let seen = 0;
    try {
      await client.streamTicks(
        (event) => {
          if (seen >= count) return;
          seen += 1;
          io.stdout.write(json ? `${JSON.stringify(event)}\n` : formatTick(event));
          if (seen >= count) stop.abort();
        },
        { every, signal: stop.signal },
      );
    } finally {
      process.removeListener('SIGINT', onSignal);
    }
  });
}
