/**
 * Which addresses the control API may be reached at: loopback (the safe default) and the URL other
 * nodes dial for placement when the API listens on a wildcard address.
 */
import { isIP } from 'node:net';

const LOOPBACK_NAMES = new Set(['localhost', 'ip6-localhost']);

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  if (LOOPBACK_NAMES.has(host.toLowerCase())) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

const UNSPECIFIED = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

/**
 * The control API's URL as other nodes dial it: a wildcard listener (0.0.0.0, ::) is published
 * under the gossip address (fleet.host) when that is a specific, non-loopback one, else not at all
 * (another node dialling 0.0.0.0 would reach itself).
 */
export function reachableApiUrl(serverUrl: string, apiHost: string, fleetHost: string): string | null {
  if (!UNSPECIFIED.has(apiHost)) return serverUrl;
  if (UNSPECIFIED.has(fleetHost) || isLoopbackHost(fleetHost)) return null;
  const url = new URL(serverUrl);
  url.hostname = fleetHost.includes(':') ? `[${fleetHost}]` : fleetHost;
  return url.toString().replace(/\/$/, '');
}
