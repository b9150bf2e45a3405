/**
 * Reading sysfs and procfs attributes cheaply: the file stays open and each read is one
 * pread at offset 0 (the kernel regenerates the text), parsed without building strings.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { toError } from '../../errors.js';

/** Why a file could not be read, in the terms a user needs. */
export type AccessProblem = 'missing' | 'denied' | 'error';

export function accessProblem(err: unknown): AccessProblem {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENODEV' || code === 'ENXIO') return 'missing';
  if (code === 'EACCES' || code === 'EPERM') return 'denied';
  return 'error';
}

/** Reads a small text file, trimmed; `undefined` when it cannot be read. */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * A cursor over ASCII bytes for parsing kernel text without building strings: one object per
 * parse, no allocation per number.
 */
export class ByteCursor {
  pos = 0;
  readonly #bytes: Uint8Array;
  readonly #length: number;

  constructor(bytes: Uint8Array, length: number) {
    this.#bytes = bytes;
    this.#length = length;
  }

  get done(): boolean {
    return this.pos >= this.#length;
  }

  peek(): number {
    return this.#bytes[this.pos] ?? -1;
  }

  /** Skips spaces and tabs. */
  skipBlanks(): void {
    while (this.pos < this.#length && (this.#bytes[this.pos] === 32 || this.#bytes[this.pos] === 9)) this.pos++;
  }

  /** Moves to the first `byte` at or after the cursor (or the end). */
  skipTo(byte: number): void {
    while (this.pos < this.#length && this.#bytes[this.pos] !== byte) this.pos++;
  }

  /** Reads an unsigned decimal integer; NaN (and no move) when there is no digit. */
  decimal(): number {
    let value = 0;
    let digits = 0;
    while (this.pos < this.#length) {
      const c = this.#bytes[this.pos] ?? 0;
      if (c < 48 || c > 57) break;
      value = value * 10 + (c - 48);
      digits++;
      this.pos++;
    }
    return digits === 0 ? Number.NaN : value;
  }
}

/** Parses the leading (optionally negative) decimal integer of `buffer[0..length)`. */
export function parseLeadingInt(buffer: Uint8Array, length: number): number {
  const cursor = new ByteCursor(buffer, length);
  cursor.skipBlanks();
  const negative = cursor.peek() === 45;
  if (negative) cursor.pos++;
  const value = cursor.decimal();
  return negative ? -value : value;
}

/** An attribute file kept open for repeated reads. */
export class AttributeFile {
  readonly path: string;
  #fd = -1;
  readonly #buffer: Uint8Array;

  constructor(path: string, bufferBytes = 64) {
    this.path = path;
    this.#buffer = new Uint8Array(bufferBytes);
  }

  /** Opens the file; throws the system error (callers map it with {@link accessProblem}). */
  open(): void {
    if (this.#fd < 0) this.#fd = openSync(this.path, 'r');
  }

  /** Reads the file's leading integer; NaN on any failure (a vanished sensor is not an exception). */
  readInt(): number {
    if (this.#fd < 0) return Number.NaN;
    try {
      const n = readSync(this.#fd, this.#buffer, 0, this.#buffer.length, 0);
      return parseLeadingInt(this.#buffer, n);
    } catch {
      return Number.NaN;
    }
  }

  /** Reads the whole file as text (for multi-line files such as /proc/stat). */
  /** Reads the file into the held buffer (`buffer`); returns the byte count (0 on failure). No view is made. */
  readIntoBuffer(): number {
    if (this.#fd < 0) return 0;
    try {
      return readSync(this.#fd, this.#buffer, 0, this.#buffer.length, 0);
    } catch {
      return 0;
    }
  }

  /** The buffer `readIntoBuffer` fills (reused by every read). */
  get buffer(): Uint8Array {
    return this.#buffer;
  }

  readBytes(): Uint8Array {
    return this.#buffer.subarray(0, this.readIntoBuffer());
  }

  close(): void {
    if (this.#fd >= 0) {
      try {
        closeSync(this.#fd);
      } catch (err) {
        // Closing a sysfs file cannot meaningfully fail; keep the reason for debugging.
        void toError(err);
      }
      this.#fd = -1;
    }
  }
}
