import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { request } from 'undici';
import type { Config } from './config.ts';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  readonly transport: string;
  send(message: MailMessage): Promise<void>;
  close(): Promise<void>;
}

/** Any failure to hand a message to the transport. Callers map it to a 503. */
export class MailError extends Error {
  override readonly name = 'MailError';
}

export function createMailer(config: Config, logger: Logger): Mailer {
  switch (config.MAIL_TRANSPORT) {
    case 'log':
      return logMailer(config, logger);
    case 'smtp':
      return smtpMailer(config);
    case 'resend':
      return resendMailer(config);
  }
}

/** Development default: the message goes to the log and to DATA_DIR/outbox.jsonl. */
function logMailer(config: Config, logger: Logger): Mailer {
  const outbox = join(config.DATA_DIR, 'outbox.jsonl');
  return {
    transport: 'log',
    async send(message) {
      try {
        await mkdir(config.DATA_DIR, { recursive: true });
        const line = { at: new Date().toISOString(), from: config.FROM_EMAIL, ...message };
        await appendFile(outbox, JSON.stringify(line) + '\n', 'utf8');
      } catch (error) {
        throw new MailError(`could not write ${outbox}`, { cause: error });
      }
      logger.info({ mail: { to: message.to, subject: message.subject, text: message.text } }, 'mail written to outbox');
    },
    close: () => Promise.resolve(),
  };
}

function smtpMailer(config: Config): Mailer {
  const transporter = createTransport(config.SMTP_URL ?? '', { connectionTimeout: 10_000, socketTimeout: 20_000 });
  return {
    transport: 'smtp',
    async send(message) {
      try {
        await transporter.sendMail({ from: config.FROM_EMAIL, ...message });
      } catch (error) {
        throw new MailError(`SMTP send failed: ${(error as Error).message}`, { cause: error });
      }
    },
    close() {
      transporter.close();
      return Promise.resolve();
    },
  };
}

/** Resend's HTTP API (POST /emails). It answers errors as `{statusCode, message, name}`. */
function resendMailer(config: Config): Mailer {
  const url = new URL('/emails', config.RESEND_BASE_URL).toString();
  return {
    transport: 'resend',
    async send(message) {
      let status: number;
      let body: string;
      try {
        const response = await request(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${config.RESEND_API_KEY!}`, 'content-type': 'application/json' },
          body: JSON.stringify({ from: config.FROM_EMAIL, ...message }),
          headersTimeout: 15_000,
          bodyTimeout: 15_000,
        });
        status = response.statusCode;
        body = await response.body.text();
      } catch (error) {
        throw new MailError(`Resend unreachable: ${(error as Error).message}`, { cause: error });
      }
      if (status < 200 || status >= 300) throw new MailError(`Resend answered ${status}: ${body.slice(0, 200)}`);
    },
    close: () => Promise.resolve(),
  };
}
