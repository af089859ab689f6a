import { randomInt } from 'node:crypto';
import svgCaptcha from 'svg-captcha';
import type { Clock } from '#core/clock.ts';
import type { Config } from '#core/config.ts';
import { randomToken, safeEqual } from '#core/crypto.ts';
import type { KeyValueStore } from '#core/kv.ts';

// Letters and digits, minus the ones people confuse (0/O/o, 1/I/l).
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789';

interface StoredCaptcha {
  text: string;
  expiresAt: number;
}

/** The typings omit the module's callable default export: render(text, options) → SVG markup. */
const renderSvg = svgCaptcha as unknown as (text: string, options: object) => string;

/**
 * Image captchas: 4 case-sensitive letters/digits, valid for CAPTCHA_TTL, single use.
 * A wrong answer burns the captcha, so each image allows one guess.
 */
export class CaptchaService {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly config: Config,
    private readonly clock: Clock,
  ) {}

  async generate(): Promise<{ sessionId: string; captcha: string }> {
    let text = '';
    for (let i = 0; i < 4; i++) text += ALPHABET[randomInt(ALPHABET.length)];
    const sessionId = randomToken(18);
    const stored: StoredCaptcha = { text, expiresAt: this.clock.now() + this.config.CAPTCHA_TTL * 1000 };
    await this.kv.set(`captcha:${sessionId}`, JSON.stringify(stored), this.config.CAPTCHA_TTL * 1000);
    const captcha = renderSvg(text, {
      noise: 3,
      color: true,
      width: 120,
      height: 40,
      fontSize: 48,
      background: '#f4f6f8',
    });
    return { sessionId, captcha };
  }

  /**
   * True when `code` matches. `consume` uses the captcha up (login); without it a correct answer
   * leaves it live for the login that follows (POST /api/captcha/verify).
   */
  async check(sessionId: string, code: string, { consume }: { consume: boolean }): Promise<boolean> {
    const key = `captcha:${sessionId}`;
    const value = await this.kv.get(key);
    if (!value) return false;
    const stored = JSON.parse(value) as StoredCaptcha;
    if (stored.expiresAt <= this.clock.now() || !safeEqual(stored.text, code)) {
      await this.kv.deleteIfEquals(key, value);
      return false;
    }
    return consume ? this.kv.deleteIfEquals(key, value) : true;
  }

  /** For tests and operators: the answer of a live captcha. Never exposed over HTTP. */
  async peek(sessionId: string): Promise<string | null> {
    const value = await this.kv.get(`captcha:${sessionId}`);
    return value ? (JSON.parse(value) as StoredCaptcha).text : null;
  }
}
