import { Type, type TSchema } from 'typebox';

/**
 * Seed 003 (Dream, a NestJS back end for a WeChat mini-program) answers every success as
 * `{success: true, data}`, the counterpart of the error envelope `{success: false, statusCode, error,
 * message, timestamp, path}` its errors share with seed 001: a mini-program reads `res.data.success`
 * and then `res.data.data`. Every seed-003 route answers through `ok` and declares `Ok(schema)`.
 */
export function Ok<T extends TSchema>(data: T) {
  return Type.Object({ success: Type.Literal(true), data });
}

export function ok<T>(data: T): { success: true; data: T } {
  return { success: true, data };
}
