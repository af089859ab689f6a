import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { parseMail, type ParsedMail } from './mime.ts';

export interface ReceivedMail extends ParsedMail {
  /** SMTP envelope, as MAIL FROM / RCPT TO gave it. */
  envelopeFrom: string;
  envelopeTo: string[];
  /** Who authenticated for this message. */
  user: string;
  raw: string;
}

/**
 * How the server behaves: accept everything, or fail at a given step with the reply a real
 * server gives (535 bad credentials, 550 mailbox unavailable at RCPT, 451 at the end of DATA).
 * `reject-data` reads the whole message first, so the test sees the code that was refused.
 */
export type SmtpMode = 'accept' | 'reject-rcpt' | 'reject-data';

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

/**
 * A real SMTP server (the `smtp-server` package) on 127.0.0.1: AUTH PLAIN/LOGIN required and
 * allowed without TLS, STARTTLS not offered. Messages it accepts are parsed into `received`.
 */
export class FakeSmtpServer {
  readonly received: ReceivedMail[] = [];
  /** Every message the server read, accepted or not. */
  readonly seen: ReceivedMail[] = [];
  mode: SmtpMode = 'accept';

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
    readonly username: string,
    readonly password: string,
  ) {}

  static async start(credentials = { username: 'tollgate', password: 'mail-p@ss word' }): Promise<FakeSmtpServer> {
    const server = new SMTPServer({
      authOptional: false,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      closeTimeout: 2_000,
      onAuth(auth, _session, callback) {
        if (auth.username === credentials.username && auth.password === credentials.password)
          callback(null, { user: auth.username });
        else callback(smtpError('Authentication credentials invalid', 535));
      },
      onRcptTo(_address, _session, callback) {
        if (fake.mode === 'reject-rcpt') callback(smtpError('Mailbox unavailable', 550));
        else callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const address = (a: SMTPServerAddress | false) => (a ? a.address : '');
          const mail: ReceivedMail = {
            ...parseMail(raw),
            envelopeFrom: address(session.envelope.mailFrom),
            envelopeTo: session.envelope.rcptTo.map((r) => r.address),
            user: String(session.user),
            raw,
          };
          fake.seen.push(mail);
          if (fake.mode === 'reject-data')
            return callback(smtpError('Requested action aborted: local error in processing', 451));
          fake.received.push(mail);
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.server.address() as AddressInfo;
    const fake = new FakeSmtpServer(server, port, credentials.username, credentials.password);
    return fake;
  }

  /** The SMTP_URL for Tollgate; `password` overrides the right one. */
  url(password = this.password): string {
    return `smtp://${encodeURIComponent(this.username)}:${encodeURIComponent(password)}@127.0.0.1:${this.port}`;
  }

  lastTo(email: string): ReceivedMail | undefined {
    return this.received.filter((m) => m.envelopeTo.includes(email)).at(-1);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
