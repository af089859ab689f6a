import { sql, type Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import { isUniqueViolation } from '#core/db/dialect.ts';
import type { DifyConversationRow, DifyFilesTable, DifyMessageRow, DifyMessagesTable } from './dify.tables.ts';

export type ConversationOrder = 'created_at' | '-created_at' | 'updated_at' | '-updated_at';

/** Ownership records of the Dify proxy: conversations, messages (and workflow runs), files. */
export class DifyRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The conversation if it exists, whoever owns it, deleted or not. */
  conversation(id: string): Promise<DifyConversationRow | undefined> {
    return this.db.selectFrom('dify_conversations').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * Records a conversation the first time it is seen; a later answer only moves `updated_at`, and only
   * for its owner. Returns false when the id is already another user's (which Dify itself never does).
   */
  async saveConversation(row: DifyConversationRow): Promise<boolean> {
    try {
      await this.db.insertInto('dify_conversations').values(row).execute();
      return true;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    const result = await this.db
      .updateTable('dify_conversations')
      .set({ updated_at: row.updated_at })
      .where('id', '=', row.id)
      .where('user_id', '=', row.user_id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async renameConversation(id: string, name: string, now: number): Promise<void> {
    await this.db
      .updateTable('dify_conversations')
      .set({ name: name.slice(0, 255), updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  async deleteConversation(id: string, now: number): Promise<void> {
    await this.db
      .updateTable('dify_conversations')
      .set({ deleted_at: now })
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .execute();
  }

  /** A user's live conversations, a page of `limit` after the one with id `afterId` in the given order. */
  async conversations(
    userId: string,
    options: { limit: number; order: ConversationOrder; after?: DifyConversationRow },
  ): Promise<DifyConversationRow[]> {
    const descending = options.order.startsWith('-');
    const column = options.order.replace('-', '') as 'created_at' | 'updated_at';
    let query = this.db
      .selectFrom('dify_conversations')
      .selectAll()
      .where('user_id', '=', userId)
      .where('deleted_at', 'is', null);
    const after = options.after;
    if (after) {
      const value = after[column];
      query = query.where((eb) =>
        eb.or([
          eb(column, descending ? '<' : '>', value),
          eb.and([eb(column, '=', value), eb('id', descending ? '<' : '>', after.id)]),
        ]),
      );
    }
    return query
      .orderBy(column, descending ? 'desc' : 'asc')
      .orderBy('id', descending ? 'desc' : 'asc')
      .limit(options.limit)
      .execute();
  }

  message(id: string): Promise<DifyMessageRow | undefined> {
    return this.db.selectFrom('dify_messages').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** A message is written once, when its answer is complete; a replay of the same id changes nothing. */
  async saveMessage(row: DifyMessagesTable): Promise<void> {
    try {
      await this.db.insertInto('dify_messages').values(row).execute();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }

  /** A conversation's messages, oldest first. */
  messagesOf(conversationId: string): Promise<DifyMessageRow[]> {
    return this.db
      .selectFrom('dify_messages')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .orderBy('ordinal')
      .execute();
  }

  async rate(id: string, rating: string | null): Promise<void> {
    await this.db.updateTable('dify_messages').set({ rating }).where('id', '=', id).execute();
  }

  async ratings(id: string): Promise<{ likes: number; dislikes: number }> {
    const row = await this.db
      .selectFrom('dify_messages')
      .select([
        sql<number>`sum(case when rating = 'like' then 1 else 0 end)`.as('likes'),
        sql<number>`sum(case when rating = 'dislike' then 1 else 0 end)`.as('dislikes'),
      ])
      .where('id', '=', id)
      .executeTakeFirst();
    return { likes: Number(row?.likes ?? 0), dislikes: Number(row?.dislikes ?? 0) };
  }

  file(id: string): Promise<DifyFilesTable | undefined> {
    return this.db.selectFrom('dify_files').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async saveFile(row: DifyFilesTable): Promise<void> {
    await this.db.insertInto('dify_files').values(row).execute();
  }
}
