/**
 * Loads the configuration: schema defaults ← file ← environment ← flags, each layer
 * checked for unknown keys (named, with where they came from), the result validated
 * once and deep-frozen.
 *
 * Environment variables: `MAXWELL_` + the key path in SCREAMING_SNAKE with `__` between
 * levels, e.g. `twin.core.tauS` → `MAXWELL_TWIN__CORE__TAU_S`. Values are parsed as JSON
 * when they parse, otherwise taken as strings. `MAXWELL_CONFIG` names a file.
 */
import { readFileSync } from 'node:fs';
import { ConfigFileError, ConfigInvalidError, ConfigUnknownKeyError, toError } from '../errors.js';
import { deepFreeze } from '../internal/deep-freeze.js';
import { configSchema, type MaxwellConfig } from './schema.js';

/** Environment variable naming a configuration file. */
export const CONFIG_FILE_ENV = 'MAXWELL_CONFIG';
/**
 * `MAXWELL_*` variables that are not configuration keys: where the CLI finds the control API,
 * and what the daemon gives each agent (docs/API.md, docs/PROTOCOL.md). Config keys always
 * hold a double underscore (`MAXWELL_SECTION__KEY`), so these cannot collide with one.
 */
export const NON_CONFIG_ENV = new Set([CONFIG_FILE_ENV, 'MAXWELL_API_URL', 'MAXWELL_API_TOKEN', 'MAXWELL_SOCKET', 'MAXWELL_TOKEN', 'MAXWELL_AGENT_ID']);
const ENV_PREFIX = 'MAXWELL_';

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The fully defaulted configuration: also the tree of every known key. */
export function defaultConfig(): MaxwellConfig {
  return configSchema.parse({});
}

/** Every leaf key path, e.g. `twin.core.tauS`. */
export function configKeyPaths(tree: Plain = defaultConfig(), prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    isPlain(value) ? configKeyPaths(value, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}

/** `twin.core.tauS` → `MAXWELL_TWIN__CORE__TAU_S`. */
export function envNameOf(path: string): string {
  const snake = (part: string): string =>
    part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toUpperCase();
  return ENV_PREFIX + path.split('.').map(snake).join('__');
}

function setPath(target: Plain, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (isPlain(next)) node = next;
    else node = node[part] = {};
  }
  node[parts[parts.length - 1] ?? ''] = value;
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Rejects any key of `layer` that the schema does not know, naming it and its origin. */
function checkKnownKeys(layer: Plain, known: Plain, origin: string, prefix = ''): void {
  for (const [key, value] of Object.entries(layer)) {
    const path = `${prefix}${key}`;
    if (!Object.hasOwn(known, key)) {
      throw new ConfigUnknownKeyError(`unknown configuration key "${path}" (from ${origin})`);
    }
    const knownValue = known[key];
    if (isPlain(knownValue) && isPlain(value)) checkKnownKeys(value, knownValue, origin, `${path}.`);
  }
}

function merge(base: Plain, layer: Plain): Plain {
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    const current = out[key];
    out[key] = isPlain(current) && isPlain(value) ? merge(current, value) : value;
  }
  return out;
}

/** Reads a JSON configuration file. Throws `MXW_ERR_CONFIG_FILE`. */
export function readConfigFile(path: string): Plain {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigFileError(`cannot read configuration file ${path}: ${toError(err).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConfigFileError(`configuration file ${path} is not valid JSON: ${toError(err).message}`, { cause: err });
  }
  if (!isPlain(parsed)) throw new ConfigFileError(`configuration file ${path} must hold a JSON object`);
  return parsed;
}

/** Turns `MAXWELL_*` variables into a configuration layer. Throws `MXW_ERR_CONFIG_UNKNOWN_KEY`. */
export function configFromEnv(env: Readonly<Record<string, string | undefined>>): Plain {
  const byName = new Map(configKeyPaths().map((path) => [envNameOf(path), path]));
  const layer: Plain = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || NON_CONFIG_ENV.has(name) || value === undefined) continue;
    const path = byName.get(name);
    if (path === undefined) throw new ConfigUnknownKeyError(`unknown configuration variable ${name} (from the environment)`);
    setPath(layer, path, parseValue(value));
  }
  return layer;
}

/** Turns `key=value` strings (from `--set`) into a configuration layer. */
export function configFromAssignments(assignments: readonly string[]): Plain {
  const layer: Plain = {};
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new ConfigInvalidError(`--set expects key=value, got "${assignment}"`);
    setPath(layer, assignment.slice(0, eq).trim(), parseValue(assignment.slice(eq + 1).trim()));
  }
  return layer;
}

/** Where configuration comes from, lowest precedence first. */
export interface ConfigSources {
  /** A JSON file; defaults to `$MAXWELL_CONFIG` when unset. */
  readonly file?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Layers from command-line flags, applied last, in order. */
  readonly flags?: readonly Plain[];
}

/**
 * Builds, validates and freezes the configuration.
 * Throws `MXW_ERR_CONFIG_UNKNOWN_KEY`, `MXW_ERR_CONFIG_INVALID` or `MXW_ERR_CONFIG_FILE`.
 * @example loadConfig({ env: process.env, flags: [configFromAssignments(['twin.cores=8'])] })
 */
export function loadConfig(sources: ConfigSources = {}): Readonly<MaxwellConfig> {
  const known = defaultConfig() as unknown as Plain;
  const env = sources.env ?? {};
  const file = sources.file ?? env[CONFIG_FILE_ENV];
  const layers: [Plain, string][] = [];
  if (file !== undefined && file !== '') layers.push([readConfigFile(file), `file ${file}`]);
  layers.push([configFromEnv(env), 'the environment']);
  for (const flags of sources.flags ?? []) layers.push([flags, 'command-line flags']);

  let merged: Plain = {};
  for (const [layer, origin] of layers) {
    checkKnownKeys(layer, known, origin);
    merged = merge(merged, layer);
  }
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw new ConfigInvalidError(`invalid configuration value ${path === '' ? '' : `"${path}"`}: ${issue?.message ?? 'invalid'}`);
  }
  const config = result.data;
  if (config.control.outputMin >= config.control.outputMax) {
    throw new ConfigInvalidError('control.outputMin must be below control.outputMax');
  }
  return deepFreeze(config);
}
