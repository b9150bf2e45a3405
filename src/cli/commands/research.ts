/** `maxwell research …`: the research questions as reproducible measurements. */
import type { Command } from 'commander';
import type { CliIo } from '../output.js';
import { addResearch } from './research-command.js';
import { ablationResearch } from './research-ablation.js';
import { ebpfResearch } from './research-ebpf.js';
import { fleetResearch } from './research-fleet.js';
import { gossipResearch } from './research-gossip.js';
import { gspResearch } from './research-gsp.js';
import { kubeResearch } from './research-kube.js';
import { pauseResearch } from './research-pause.js';
import { poiResearch } from './research-poi.js';
import { soakResearch } from './research-soak.js';
import { verificationResearch } from './research-verification.js';

export function registerResearch(program: Command, io: CliIo, env: Readonly<Record<string, string | undefined>>): void {
  const research = program.command('research').description('run a research question as a reproducible measurement');
  addResearch(research, io, pauseResearch);
  addResearch(research, io, ebpfResearch);
  addResearch(research, io, gspResearch);
  addResearch(research, io, gossipResearch);
  addResearch(research, io, fleetResearch);
  addResearch(research, io, kubeResearch);
  addResearch(research, io, verificationResearch);
  addResearch(research, io, poiResearch);
  addResearch(research, io, ablationResearch, env);
  addResearch(research, io, soakResearch);
}
