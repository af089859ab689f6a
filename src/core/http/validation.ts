import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { translate } from '#core/errors.ts';
import type { Lang } from '#core/i18n.ts';

// ajv-formats ships CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

function makeAjv(coerceTypes: boolean | 'array'): Ajv {
  const ajv = new Ajv({
    coerceTypes,
    removeAdditional: false, // an unknown field is an error, not something to drop silently
    useDefaults: true,
    allErrors: false,
    strict: false,
  });
  addFormats(ajv);
  return ajv;
}

// Bodies are JSON and must carry the right types; query strings and params are text and are coerced.
const bodyAjv = makeAjv(false);
const textAjv = makeAjv('array');

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv;
  return ajv.compile(schema as object);
};

const PART_NAMES: Record<Lang, Record<string, string>> = {
  zh: { body: '请求体', querystring: '查询参数', params: '路径参数', headers: '请求头' },
  en: { body: 'body', querystring: 'query', params: 'path', headers: 'header' },
};

/** Turns the first schema violation into one sentence a person can act on. */
export function describeValidationError(lang: Lang, errors: ErrorObject[], context: string | undefined): string {
  const error = errors[0];
  if (!error) return lang === 'zh' ? '参数错误' : 'invalid input';
  const part = PART_NAMES[lang][context ?? 'body'] ?? context ?? '';
  const base = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const params = error.params as Record<string, unknown>;
  const field = base || part;
  const zh = lang === 'zh';
  switch (error.keyword) {
    case 'required':
      return zh
        ? `缺少必填字段 ${joinPath(base, String(params.missingProperty))}`
        : `missing required field ${joinPath(base, String(params.missingProperty))}`;
    case 'additionalProperties':
      return zh
        ? `不允许的字段 ${joinPath(base, String(params.additionalProperty))}`
        : `unknown field ${joinPath(base, String(params.additionalProperty))}`;
    case 'type':
      return zh ? `${field}的类型应为 ${String(params.type)}` : `${field} must be of type ${String(params.type)}`;
    case 'format':
      return zh
        ? `${field}格式不正确（应为 ${String(params.format)}）`
        : `${field} must be a valid ${String(params.format)}`;
    case 'minLength':
      return zh
        ? `${field}长度不能少于 ${String(params.limit)} 个字符`
        : `${field} must have at least ${String(params.limit)} characters`;
    case 'maxLength':
      return zh
        ? `${field}长度不能超过 ${String(params.limit)} 个字符`
        : `${field} must have at most ${String(params.limit)} characters`;
    case 'pattern':
      return zh ? `${field}格式不正确` : `${field} has the wrong format`;
    case 'minimum':
    case 'maximum':
      return zh
        ? `${field}必须 ${String(params.comparison)} ${String(params.limit)}`
        : `${field} must be ${String(params.comparison)} ${String(params.limit)}`;
    default:
      return `${field} ${error.message ?? ''}`.trim();
  }
}

function joinPath(base: string, name: string): string {
  return base ? `${base}.${name}` : name;
}

/** A body field that broke its route's schema, named and worded as OpenAI names and words it. */
export interface FieldViolation {
  /** The field as OpenAI names it: `stream`, `messages[0]`, `stream_options.include_usage`. */
  param: string;
  /** OpenAI's code for the kind of violation (`invalid_type`, `missing_required_parameter`, …). */
  code: string | null;
  message: string;
}

const TYPE_NAMES: Record<Lang, Record<string, string>> = {
  zh: {
    string: '字符串',
    integer: '整数',
    decimal: '小数',
    number: '数字',
    boolean: '布尔值',
    object: '对象',
    array: '数组',
    null: 'null',
  },
  en: {
    string: 'a string',
    integer: 'an integer',
    decimal: 'a decimal number',
    number: 'a number',
    boolean: 'a boolean',
    object: 'an object',
    array: 'an array',
    null: 'null',
  },
};

/** A JSON value's type as OpenAI's messages name it (an integer and a decimal number differ). */
function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'decimal';
  return typeof value;
}

/** `messages/0/content` → `messages[0].content`, OpenAI's spelling. */
function paramOf(segments: string[]): string {
  return segments.reduce(
    (param, segment) => (/^\d+$/.test(segment) ? `${param}[${segment}]` : param ? `${param}.${segment}` : segment),
    '',
  );
}

function valueAt(body: unknown, segments: string[]): unknown {
  let value = body;
  for (const segment of segments)
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[segment] : undefined;
  return value;
}

/**
 * The first violation of a body schema as OpenAI answers it (its message, its `param` and `code`), for
 * the OpenAI-compatible surface; undefined when the body itself is not an object, which keeps the
 * route's usual answer.
 */
export function describeForOpenAi(lang: Lang, errors: ErrorObject[], body: unknown): FieldViolation | undefined {
  const error = errors[0];
  if (!error) return undefined;
  const params = error.params as Record<string, unknown>;
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'required') segments.push(String(params.missingProperty));
  if (segments.length === 0) return undefined;
  const param = paramOf(segments);
  const value = valueAt(body, segments);
  const zh = lang === 'zh';
  const names = TYPE_NAMES[lang];
  switch (error.keyword) {
    case 'required':
      return {
        param,
        code: 'missing_required_parameter',
        message: zh ? `缺少必填参数：'${param}'。` : `Missing required parameter: '${param}'.`,
      };
    case 'type': {
      const wanted = [params.type]
        .flat()
        .filter((type) => type !== 'null')
        .map((type) => names[String(type)] ?? String(type));
      const expected =
        wanted.length > 1 ? (zh ? wanted.join('或') : `one of ${wanted.join(' or ')}`) : (wanted[0] ?? '');
      const actual = names[jsonTypeOf(value)] ?? jsonTypeOf(value);
      return {
        param,
        code: 'invalid_type',
        message: zh
          ? `参数 '${param}' 的类型无效：应为${expected}，实际为${actual}。`
          : `Invalid type for '${param}': expected ${expected}, but got ${actual} instead.`,
      };
    }
    case 'minimum':
    case 'maximum': {
      const below = error.keyword === 'minimum';
      const integer = Number.isInteger(value);
      const bound = `${String(params.comparison)} ${String(params.limit)}`;
      return {
        param,
        code: `${integer ? 'integer' : 'decimal'}_${below ? 'below_min' : 'above_max'}_value`,
        message: zh
          ? `参数 '${param}' 的值${below ? '过小' : '过大'}：应 ${bound}，实际为 ${String(value)}。`
          : `Invalid '${param}': ${integer ? 'integer' : 'decimal'} ${below ? 'below minimum' : 'above maximum'} value. Expected a value ${bound}, but got ${String(value)} instead.`,
      };
    }
    case 'minItems':
    case 'minLength': {
      const kind = error.keyword === 'minItems' ? 'array' : 'string';
      if ((value as { length?: number } | undefined)?.length === 0) {
        return {
          param,
          code: `empty_${kind}`,
          message: zh
            ? `参数 '${param}' 无效：不能为空${names[kind]}。`
            : `Invalid '${param}': empty ${kind}. Expected ${names[kind]} with minimum length ${String(params.limit)}, but got an empty ${kind} instead.`,
        };
      }
      break;
    }
  }
  return {
    param,
    code: null,
    message: translate(lang, 'VALIDATION_FAILED', { detail: describeValidationError(lang, [error], 'body') }),
  };
}
