import { createHash } from 'node:crypto';
import { CompiledQuery, type Kysely, type QueryResult } from 'kysely';
import type { DialectCapabilities } from './dialect.ts';
import type { DB } from './schema.ts';

/**
 * Hand-written statements for the hot path (the hold, the settle and the usage record of every
 * metered call). Kysely's builder spends more CPU building and compiling these than SQLite spends
 * running them, so the few statements the gateway runs for every call are written here as text, with
 * the dialect's placeholders and identifier quotes, and run through Kysely's executor (same
 * connection, same transaction). Everything else keeps using the builder.
 *
 * A statement built with a `shape` (a key naming everything its text depends on — which clauses, how
 * many rows) gets its text built once per shape: later ones only collect their parameters, and the
 * driver's statement cache finds the same string again without hashing a new one. The texts of every
 * shaped statement are committed per dialect under test/db/ and checked against what the code builds
 * (test/db/hot-statements.test.ts), so a shape that stops naming all its text depends on is caught.
 */
export class Statement {
  private text: string;
  private readonly building: boolean;
  readonly parameters: unknown[] = [];

  constructor(
    readonly dialect: DialectCapabilities,
    readonly shape?: string,
  ) {
    const known = shape === undefined ? undefined : texts.get(`${dialect.name}|${shape}`);
    this.text = known ?? '';
    this.building = known === undefined;
  }

  /** Appends SQL text. Identifiers inside it are written `"like_this"` and quoted as the dialect quotes them. */
  sql(text: string): this {
    if (this.building) this.text += this.dialect.quoteIdentifiers(text);
    return this;
  }

  /** Appends a placeholder for `value`. */
  param(value: unknown): this {
    this.parameters.push(value);
    if (this.building) this.text += this.dialect.placeholder(this.parameters.length);
    return this;
  }

  /** Appends `(?, ?, …)`: one placeholder per value. */
  tuple(values: readonly unknown[]): this {
    if (!this.building) {
      for (const value of values) this.parameters.push(value);
      return this;
    }
    this.text += '(';
    values.forEach((value, i) => {
      if (i > 0) this.text += ', ';
      this.param(value);
    });
    this.text += ')';
    return this;
  }

  /** Appends another statement of the same dialect (its placeholders renumbered after this one's). */
  append(other: Statement): this {
    const offset = this.parameters.length;
    if (this.building) this.text += this.dialect.shiftPlaceholders(other.toString(), offset);
    this.parameters.push(...other.parameters);
    return this;
  }

  /** Runs it on `db` (a transaction, usually). */
  run<R>(db: Kysely<DB>): Promise<QueryResult<R>> {
    return db.executeQuery<R>(CompiledQuery.raw(this.toString(), this.parameters));
  }

  toString(): string {
    if (this.building && this.shape !== undefined) {
      if (texts.size >= MAX_SHAPES) {
        const oldest = texts.keys().next().value!;
        preparedNames.delete(texts.get(oldest)!);
        texts.delete(oldest);
      }
      texts.set(`${this.dialect.name}|${this.shape}`, this.text);
      if (this.dialect.preparesByName)
        preparedNames.set(this.text, `tg_${createHash('sha1').update(this.text).digest('hex').slice(0, 24)}`);
    }
    return this.text;
  }
}

/** Statement texts by dialect and shape (bounded: the oldest go first). */
const texts = new Map<string, string>();
const MAX_SHAPES = 2000;
/** PostgreSQL names of the shaped texts (stable: a digest of the text). */
const preparedNames = new Map<string, string>();

/**
 * The name under which PostgreSQL may keep `text` prepared on a connection, if it is one of the hot
 * statements (a shaped Statement): the server then parses and plans it once per connection instead
 * of on every call (the hold statement: ~1 ms → ~0.5 ms a round trip here). Undefined for any other text.
 */
export function preparedNameOf(text: string): string | undefined {
  return preparedNames.get(text);
}

/**
 * Forgets every statement text built so far, so that the next statement of each shape is built afresh
 * (tests compare a fresh text with the one cached for its shape).
 */
export function forgetStatementTexts(): void {
  texts.clear();
  preparedNames.clear();
}

/** The shaped texts built so far, by `dialect|shape` (tests: which shapes the code really builds). */
export function statementTexts(): ReadonlyMap<string, string> {
  return texts;
}

/** Rows changed by an UPDATE/INSERT/DELETE. */
export function affected(result: QueryResult<unknown>): number {
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * Inserts whose results nobody reads, gathered while a batch runs and sent just before it commits:
 * where the database has data-modifying WITH queries (PostgreSQL) as ONE statement (see
 * `chainOfWrites`: one round trip for all), elsewhere one after another. An error (a unique
 * violation) fails the flush, and so the batch, as the inserts would have one by one.
 */
export class DeferredWrites {
  private readonly statements: Statement[] = [];

  /** Adds `statement`, to be run at `flush`. */
  defer(statement: Statement): void {
    this.statements.push(statement);
  }

  async flush(db: Kysely<DB>): Promise<void> {
    const pending = this.statements.splice(0);
    if (pending.length === 0) return;
    if (pending.length === 1 || !pending[0]!.dialect.writingCtes) {
      for (const statement of pending) await statement.run(db);
      return;
    }
    await chainOfWrites(pending).run(db);
  }
}

/**
 * (Data-modifying WITH queries.) `statements` as ONE statement: a chain of WITH queries, which all
 * run, whatever the last one reads. Shaped when every one of them is.
 */
export function chainOfWrites(statements: readonly Statement[]): Statement {
  const shapes = statements.map((s) => s.shape);
  const chain = new Statement(
    statements[0]!.dialect,
    shapes.every((s) => s !== undefined) ? `with:${shapes.join('+')}` : undefined,
  ).sql('with ');
  statements.forEach((statement, i) => {
    if (i === statements.length - 1) chain.sql(' ').append(statement);
    else
      chain
        .sql(`${i > 0 ? ', ' : ''}"w${i}" as (`)
        .append(statement)
        .sql(')');
  });
  return chain;
}
