import type { Selectable } from 'kysely';

/** A Dify conversation a user started through Tollgate: its owner, its app, and the name they see. */
export interface DifyConversationsTable {
  /** Dify's conversation id. */
  id: string;
  channel_id: string;
  user_id: string;
  name: string;
  created_at: number;
  updated_at: number;
  /** Set when the owner deleted it (here and in Dify); it is then 404 to everyone. */
  deleted_at: number | null;
}

export type DifyMessageKind = 'chat' | 'completion' | 'workflow';

/** One answer (a message, or a workflow run) with its owner; seed 002 reads conversations from these. */
export interface DifyMessagesTable {
  /** Dify's message id (workflows: the workflow run id). */
  id: string;
  kind: DifyMessageKind;
  channel_id: string;
  user_id: string;
  conversation_id: string | null;
  /** A time-ordered id of ours: Dify's ids are random, and two answers may share a millisecond. */
  ordinal: string;
  task_id: string | null;
  /** The user's query (workflows: the inputs as JSON). */
  query: string;
  /** The answer as it reached the user (workflows: the outputs as JSON). */
  answer: string;
  /** normal | error | stopped */
  status: string;
  /** The owner's feedback: like | dislike | null. */
  rating: string | null;
  created_at: number;
}

/** A file a user uploaded to a Dify app: only they may attach it. */
export interface DifyFilesTable {
  id: string;
  channel_id: string;
  user_id: string;
  name: string;
  size: number;
  created_at: number;
}

export interface DifyTables {
  dify_conversations: DifyConversationsTable;
  dify_messages: DifyMessagesTable;
  dify_files: DifyFilesTable;
}

export type DifyConversationRow = Selectable<DifyConversationsTable>;
export type DifyMessageRow = Selectable<DifyMessagesTable>;
