import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
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
      return zh ? `${field}格式不正确（应为 ${String(params.format)}）` : `${field} must be a valid ${String(params.format)}`;
    case 'minLength':
      return zh ? `${field}长度不能少于 ${String(params.limit)} 个字符` : `${field} must have at least ${String(params.limit)} characters`;
    case 'maxLength':
      return zh ? `${field}长度不能超过 ${String(params.limit)} 个字符` : `${field} must have at most ${String(params.limit)} characters`;
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
