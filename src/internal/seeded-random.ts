/**
 * Deterministic randomness for simulations: the same seed gives the same stream,
 * bit for bit, on every run and machine.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

const TWO_POW_32 = 4294967296;
const INT32_OFFSET = 2147483648;

type Generator = ReturnType<typeof xoroshiro128plus>;

/**
 * A seeded source of uniform and normal variates: xoroshiro128+ from pure-rand; normals by
 * Marsaglia's polar method from 32-bit uniforms, both values of each pair used.
 *
 * Measured on the development VM (Node 20), 24 M normals: Box–Muller on 53-bit uniforms
 * 960 ms, polar on 32-bit uniforms 500 ms in a plain loop; the same as a closure 730 ms,
 * as this class 560 ms, and 400 ms through {@link SeededRandom.fillNormal}. Sensor noise is
 * the twin's second-largest cost, and 32 bits are ample resolution for it.
 * @example new SeededRandom(42).normal()
 */
export class SeededRandom {
  readonly #rng: Generator;
  #spare = 0;
  #hasSpare = false;

  constructor(seed: number) {
    this.#rng = xoroshiro128plus(seed | 0);
  }

  /** Uniform in [0, 1), 53 bits. */
  uniform(): number {
    return uniformFloat64(this.#rng);
  }

  /** Standard normal (mean 0, variance 1). */
  normal(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spare;
    }
    const first = this.#polarPair();
    this.#hasSpare = true;
    return first;
  }

  /** Fills `out[0..count)` with standard normals. */
  fillNormal(out: Float64Array, count: number): void {
    let i = 0;
    if (this.#hasSpare && count > 0) {
      out[i++] = this.#spare;
      this.#hasSpare = false;
    }
    while (i < count) {
      out[i++] = this.#polarPair();
      if (i < count) out[i++] = this.#spare;
      else this.#hasSpare = true;
    }
  }

  /** Draws a pair by Marsaglia's polar method: returns one, leaves the other in #spare. */
  #polarPair(): number {
    const rng = this.#rng;
    let x: number;
    let y: number;
    let radius2: number;
    do {
      // next() is a signed 32-bit integer; map it onto [-1, 1).
      x = ((rng.next() + INT32_OFFSET) / TWO_POW_32) * 2 - 1;
      y = ((rng.next() + INT32_OFFSET) / TWO_POW_32) * 2 - 1;
      radius2 = x * x + y * y;
    } while (radius2 >= 1 || radius2 === 0);
    const factor = Math.sqrt((-2 * Math.log(radius2)) / radius2);
    this.#spare = y * factor;
    return x * factor;
  }
}
