import { describe, expect, it } from 'vitest';
import { AppError } from '#core/errors.ts';
import { formatOfPath } from '#core/http/error-handler.ts';
import { decodeCursor, encodeCursor } from '#core/http/pagination.ts';

describe('page cursors', () => {
  it('gives back the position it was made from', () => {
    const position = { at: 1_765_000_000_123, id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it.each([
    ['not base64 JSON', '!!!'],
    ['JSON of another shape', Buffer.from('{"at":1,"id":"x"}').toString('base64url')],
    ['a non-integer position', Buffer.from('[1.5,"x"]').toString('base64url')],
    ['an id past 64 characters', Buffer.from(JSON.stringify([1, 'x'.repeat(65)])).toString('base64url')],
  ])('refuses %s with 400 INVALID_CURSOR', (_, cursor) => {
    expect(() => decodeCursor(cursor)).toThrowError(AppError);
    try {
      decodeCursor(cursor);
    } catch (error) {
      expect((error as AppError).status).toBe(400);
      expect((error as AppError).code).toBe('INVALID_CURSOR');
    }
  });
});

describe('the error format of a path no route took', () => {
  it('is OpenAI on the OpenAI surface and the envelope on seed 003 paths under /v1', () => {
    expect(formatOfPath('/v1/chat/completions')).toBe('openai');
    expect(formatOfPath('/v1/authors')).toBe('openai');
    expect(formatOfPath('/v1/auth/wechat-login')).toBe('envelope');
    expect(formatOfPath('/v1/admin/users?page=2')).toBe('envelope');
    expect(formatOfPath('/v1/vip')).toBe('envelope');
    expect(formatOfPath('/api/credits')).toBe('envelope');
  });
});
