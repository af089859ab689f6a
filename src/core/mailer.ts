import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { Agent, request } from 'undici';
import type { Config } from './config.ts';
import { makeOwnerOnlyDir, OWNER_ONLY_FILE } from './data-dir.ts';

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

/**
 * Development default: the message goes to DATA_DIR/outbox.jsonl (readable by the owner only) and to the
 * log. In production (where it must be chosen explicitly) the log line never carries the message itself:
 * its codes stay in the outbox.
 */
function logMailer(config: Config, logger: Logger): Mailer {
  const outbox = join(config.DATA_DIR, 'outbox.jsonl');
  return {
    transport: 'log',
    async send(message) {
      try {
        makeOwnerOnlyDir(config.DATA_DIR);
        const line = {
          at: new Date().toISOString(),
          from: config.FROM_EMAIL,
          ...(config.REPLY_TO_EMAIL ? { reply_to: config.REPLY_TO_EMAIL } : {}),
          ...message,
        };
        await appendFile(outbox, JSON.stringify(line) + '\n', { encoding: 'utf8', mode: OWNER_ONLY_FILE });
      } catch (error) {
        throw new MailError(`could not write ${outbox}`, { cause: error });
      }
      const mail = config.isProduction
        ? { to: message.to, subject: message.subject }
        : { to: message.to, subject: message.subject, text: message.text };
      logger.info({ mail, outbox }, 'mail written to outbox');
    },
    close: () => Promise.resolve(),
  };
}

/** SMTP through nodemailer. Options in SMTP_URL's query (e.g. `?ignoreTLS=true`) win over these timeouts. */
function smtpMailer(config: Config): Mailer {
  const timeout = config.MAIL_TIMEOUT * 1000;
  const transporter = createTransport(
    new SMTPTransport({
      url: config.SMTP_URL,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    }),
  );
  return {
    transport: 'smtp',
    async send(message) {
      try {
        await transporter.sendMail({
          from: config.FROM_EMAIL,
          ...(config.REPLY_TO_EMAIL ? { replyTo: config.REPLY_TO_EMAIL } : {}),
          ...message,
        });
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
  // Like resend-node, the path is appended to the base URL, so a base with a path (a relay) keeps it.
  const url = `${config.RESEND_BASE_URL.replace(/\/+$/, '')}/emails`;
  const timeout = config.MAIL_TIMEOUT * 1000;
  const dispatcher = new Agent({ connect: { timeout }, headersTimeout: timeout, bodyTimeout: timeout });
  return {
    transport: 'resend',
    async send(message) {
      let status: number;
      let body: string;
      try {
        const response = await request(url, {
          method: 'POST',
          dispatcher,
          headers: { authorization: `Bearer ${config.RESEND_API_KEY!}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            from: config.FROM_EMAIL,
            ...(config.REPLY_TO_EMAIL ? { reply_to: config.REPLY_TO_EMAIL } : {}),
            ...message,
          }),
        });
        status = response.statusCode;
        body = await response.body.text();
      } catch (error) {
        throw new MailError(`Resend unreachable: ${(error as Error).message}`, { cause: error });
      }
      if (status < 200 || status >= 300) throw new MailError(`Resend answered ${status}: ${body.slice(0, 200)}`);
    },
    close: () => dispatcher.close(),
  };
}
