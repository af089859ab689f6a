import fc from 'fast-check';

/** The parts of a JSON Schema (as the OpenAPI document spells a route's TypeBox schemas) the fuzzer reads. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  format?: string;
  pattern?: string;
}

/** Strings that have broken servers before: traversal, NUL, injection, format edge cases, sizes. */
export const TRICKY_STRINGS = [
  '',
  ' ',
  '../../../../etc/passwd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '%2e%2e/%2e%2e/',
  'a\u0000b',
  '\r\nSet-Cookie: injected=1',
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  '${7*7}{{7*7}}',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  '\uD800',
  '😀'.repeat(40),
  '\u202Egnp.exe',
  'x'.repeat(5000),
  '9'.repeat(400),
  '-1',
  '1e308',
  'NaN',
  'null',
  'TG-0000-0000-0000-0000',
  'sk-' + 'A'.repeat(43),
  'http://127.0.0.1:1/v1',
  'file:///etc/passwd',
  '2026-02-30T25:61:61Z',
  'not-an-email@',
];

const TRICKY_NUMBERS = [0, -0, -1, 1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e300, -1e300, 0.5, Number.MAX_SAFE_INTEGER + 2];

/** Any JSON value, hostile on purpose: wrong types, huge numbers, tricky strings, nesting. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...TRICKY_STRINGS),
  fc.constantFrom(...TRICKY_NUMBERS),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  fc.array(fc.constantFrom(...TRICKY_STRINGS), { maxLength: 4 }),
);

function stringFor(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.min(schema.maxLength ?? 64, 256);
  if (schema.format === 'email') return fc.emailAddress();
  if (schema.format === 'date-time')
    return fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString());
  if (schema.pattern) {
    try {
      return fc
        .stringMatching(new RegExp(schema.pattern))
        .filter((s) => s.length >= minLength && s.length <= maxLength);
    } catch {
      // A pattern fast-check cannot generate from: plain strings it is.
    }
  }
  return fc.string({ minLength, maxLength: Math.max(minLength, maxLength) });
}

function numberFor(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const min = schema.minimum ?? -1_000_000;
  const max = schema.maximum ?? 1_000_000;
  const lo = Math.max(min, -1e12);
  const hi = Math.min(max, 1e12);
  return integer
    ? fc.integer({ min: Math.ceil(lo), max: Math.floor(hi) })
    : fc.double({ min: lo, max: hi, noNaN: true });
}

/**
 * Values shaped like `schema` (so the handler behind validation runs too), mixed with values that are
 * wrong on purpose (so validation is tried): about one field in four is hostile.
 */
export function arbitraryFor(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return hostileValue;
  return fc.oneof({ weight: 3, arbitrary: shaped(schema, depth) }, { weight: 1, arbitrary: hostileValue });
}

function shaped(schema: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const options = schema.anyOf ?? schema.oneOf;
  if (options && options.length > 0) return fc.oneof(...options.map((option) => shaped(option, depth + 1)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return stringFor(schema);
    case 'integer':
      return numberFor(schema, true);
    case 'number':
      return numberFor(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(arbitraryFor(schema.items, depth + 1), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 4, 6),
      });
    case 'object':
    default:
      return objectFor(schema, depth);
  }
}

function objectFor(schema: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, property] of Object.entries(properties)) fields[name] = arbitraryFor(property, depth + 1);
  const requiredKeys = Object.keys(fields).filter((name) => required.has(name));
  // Mostly with the required fields, sometimes without them (validation must refuse, not crash).
  const known = fc.oneof(
    { weight: 4, arbitrary: fc.record(fields, { requiredKeys }) },
    { weight: 1, arbitrary: fc.record(fields, { requiredKeys: [] }) },
  );
  // Now and then an unknown field, or a prototype-pollution attempt, on top.
  const extra = fc.option(
    fc.constantFrom<[string, unknown]>(
      ['unknownField', 1],
      ['__proto__', { admin: true }],
      ['constructor', { prototype: { polluted: true } }],
      ['role', 'admin'],
      ['userId', 'someone-else'],
    ),
    { freq: 4 },
  );
  return fc.tuple(known, extra).map(([value, more]) => {
    if (!more) return value;
    // JSON.parse on the server sees `__proto__` as a plain key only if it arrives as text: build it so.
    return JSON.parse(
      JSON.stringify(value).replace(
        /^\{/,
        `{${JSON.stringify(more[0])}:${JSON.stringify(more[1])}${Object.keys(value).length ? ',' : ''}`,
      ),
    ) as unknown;
  });
}
