/**
 * Request bodies and values from JSON Schema, for fuzzing the control API from its OpenAPI
 * description (fuzz-api.ts). It knows the subset that zod's `toJSONSchema` (OpenAPI 3.0 target)
 * writes for the API's schemas: object, string, number, integer, boolean and array types,
 * `properties`, `required`, `additionalProperties`, `enum`, `pattern`, length, item and range
 * bounds (`exclusiveMinimum` as the 3.0 boolean), `nullable` and `anyOf`. Anything else becomes
 * arbitrary JSON.
 *
 * `validish` aims inside the schema and at its edges (a bound, one past it), so that most of
 * what it makes reaches the handler; `mutatedText` breaks one thing in such a value (a wrong type,
 * an extra or missing field, a huge or non-finite number, deep nesting, a long or odd string) and
 * returns JSON text, since some of the breakage (`1e400`, nesting deeper than `JSON.stringify`
 * goes, a `__proto__` key) cannot be a JavaScript value first.
 */
import fc from 'fast-check';

export interface JsonSchema {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: boolean | number;
  readonly nullable?: boolean;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
}

/** Longest string or array made in full; longer bounds are reached by their edge cases only. */
const SHORT = 24;
/** Largest array built only to be one past its `maxItems`. */
const MAX_EDGE_ITEMS = 4097;

/** Odd strings: unicode of every plane, controls, lone surrogates, things that look like numbers or paths. */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 16, unit: 'grapheme' }),
  fc.string({ maxLength: 16, unit: 'binary' }),
  fc.constantFrom('', ' ', 'NaN', 'Infinity', '-1', '1e3', '0x10', ' 1', '1 ', '\u0000', '\ud800', '../../etc/passwd', '%00', '__proto__', 'constructor', 'true', 'null', '😀'.repeat(40)),
);

function lengths(min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof({ weight: 8, arbitrary: fc.integer({ min, max: Math.min(max, Math.max(min, SHORT)) }) }, { weight: 1, arbitrary: fc.constantFrom(min, max, max + 1, Math.max(0, min - 1)) });
}

function stringArb(schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.pattern !== undefined) {
    return fc.oneof({ weight: 8, arbitrary: fc.stringMatching(new RegExp(schema.pattern)) }, { weight: 1, arbitrary: oddString });
  }
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? 4096;
  return fc.oneof(
    { weight: 8, arbitrary: fc.string({ minLength: min, maxLength: Math.min(max, Math.max(min, SHORT)) }) },
    { weight: 1, arbitrary: fc.tuple(lengths(min, max), fc.constantFrom('a', 'é', '😀', '\u0000')).map(([n, c]) => c.repeat(n)) },
    { weight: 1, arbitrary: oddString },
  );
}

function numberArb(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const min = schema.minimum ?? -1e15;
  const max = schema.maximum ?? 1e15;
  const edges = [min, max, max + 1, min - 1, 0, -0, 1, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 1e308, Number.MIN_VALUE, 5e-324];
  const inside = integer ? fc.bigInt({ min: BigInt(Math.ceil(min)), max: BigInt(Math.floor(max)) }).map(Number) : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
  // Near the lower bound (or near zero): where the sizes and prices a person would send are.
  const lo = Math.max(min, -1000);
  const hi = Math.min(max, lo + 2000);
  const small = integer ? fc.bigInt({ min: BigInt(Math.ceil(lo)), max: BigInt(Math.floor(hi)) }).map(Number) : fc.double({ min: lo, max: hi, noNaN: true });
  return fc.oneof({ weight: 6, arbitrary: small }, { weight: 4, arbitrary: inside }, { weight: 1, arbitrary: fc.constantFrom(...edges) }, { weight: 1, arbitrary: integer ? fc.double({ min, max, noNaN: true }) : fc.integer() });
}

function arrayArb(schema: JsonSchema): fc.Arbitrary<unknown[]> {
  const item = validish(schema.items ?? {});
  const min = schema.minItems ?? 0;
  const max = schema.maxItems ?? 1000;
  const edge = fc.tuple(item, fc.constantFrom(min, Math.max(0, min - 1), Math.min(max + 1, MAX_EDGE_ITEMS))).map(([one, n]) => Array.from({ length: n }, () => one));
  return fc.oneof({ weight: 10, arbitrary: fc.array(item, { minLength: min, maxLength: Math.min(max, Math.max(min, 6)) }) }, { weight: 1, arbitrary: edge });
}

function objectArb(schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, child] of Object.entries(properties)) shape[key] = validish(child);
  const known = fc.record(shape, { requiredKeys: (schema.required ?? []).filter((k) => k in properties) });
  const extra = schema.additionalProperties;
  if (extra === undefined || extra === false) return known;
  const values = extra === true || Object.keys(extra).length === 0 ? fc.jsonValue({ maxDepth: 2 }) : validish(extra);
  // Keys like identifiers mostly (a schema's key rule, such as environment variable names, does not survive into JSON Schema).
  const keys = fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });
  return fc.tuple(known, fc.dictionary(keys, values, { maxKeys: 4 })).map(([k, more]) => ({ ...more, ...k }));
}

/** Values that fit `schema` or sit at its edges. */
export function validish(schema: JsonSchema): fc.Arbitrary<unknown> {
  const base = baseArb(schema);
  return schema.nullable === true ? fc.oneof({ weight: 4, arbitrary: base }, { weight: 1, arbitrary: fc.constant(null) }) : base;
}

function baseArb(schema: JsonSchema): fc.Arbitrary<unknown> {
  const choices = schema.anyOf ?? schema.oneOf;
  if (choices !== undefined && choices.length > 0) return fc.oneof(...choices.map(validish));
  if (schema.enum !== undefined && schema.enum.length > 0) return fc.oneof({ weight: 10, arbitrary: fc.constantFrom(...schema.enum) }, { weight: 1, arbitrary: oddString });
  switch (schema.type) {
    case 'object':
      return objectArb(schema);
    case 'array':
      return arrayArb(schema);
    case 'string':
      return stringArb(schema);
    case 'number':
      return numberArb(schema, false);
    case 'integer':
      return numberArb(schema, true);
    case 'boolean':
      return fc.boolean();
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** JSON text that no `JSON.stringify` of a plain value writes, or that is very large or deep. */
export const oddJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('1e400', '-1e400', '1e-400', '-0', '123456789012345678901234567890', '0.1e1', '"\\ud800"', '"\\u0000"', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '[]', '{}', 'null', 'true', '"NaN"', '"Infinity"', '"1"'),
  // Deep nesting: arrays, objects, and both, up to 20,000 levels.
  fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"a":', '[{"a":')).map(([depth, open]) => {
    const close = open === '[' ? ']' : open === '{"a":' ? '}' : '}]';
    return `${open.repeat(depth)}1${close.repeat(depth)}`;
  }),
  // Long strings, one character repeated (ASCII, two-byte, astral).
  fc.tuple(fc.integer({ min: 1000, max: 70_000 }), fc.constantFrom('a', 'é', '😀')).map(([n, c]) => JSON.stringify(c.repeat(n))),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  oddString.map((s) => JSON.stringify(s)),
);

const SENTINEL = '\u0001fuzz-sentinel\u0001';

/** Splices `text` (raw JSON) where `value` holds the sentinel. */
function splice(value: unknown, text: string): string {
  return JSON.stringify(value).replace(JSON.stringify(SENTINEL), () => text);
}

/** A value of `schema` with one thing broken, as JSON text. */
export function mutatedText(schema: JsonSchema): fc.Arbitrary<string> {
  return fc.tuple(validish(schema), fc.nat(), fc.constantFrom('replace', 'replace-nested', 'add', 'drop', 'whole'), oddJsonText, fc.string({ maxLength: 12 })).map(([value, pick, how, odd, name]) => {
    if (how === 'whole' || typeof value !== 'object' || value === null) return odd;
    const target = value as Record<string, unknown>;
    const keys = Object.keys(target);
    const key = keys.length === 0 ? name : (keys[pick % keys.length] ?? name);
    if (how === 'drop') {
      return JSON.stringify(Object.fromEntries(Object.entries(target).filter(([k]) => k !== key)));
    }
    if (how === 'add') return splice({ ...target, [name === key ? `${name}_` : name]: SENTINEL }, odd);
    const inner = target[key];
    if (how === 'replace-nested' && typeof inner === 'object' && inner !== null && !Array.isArray(inner)) {
      const innerKeys = Object.keys(inner);
      const innerKey = innerKeys[pick % Math.max(1, innerKeys.length)] ?? name;
      return splice({ ...target, [key]: { ...inner, [innerKey]: SENTINEL } }, odd);
    }
    return splice({ ...target, [key]: SENTINEL }, odd);
  });
}
