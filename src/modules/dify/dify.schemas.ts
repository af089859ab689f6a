import { Type } from 'typebox';
import { Paging } from '#core/http/pagination.ts';

/**
 * Request shapes of the Dify proxy. Dify ignores keys it does not know, and so does the proxy: they
 * are accepted and never forwarded (the client's `user` above all: Tollgate sets its own).
 */
const Open = { additionalProperties: true } as const;
const DifyId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

export const IdParams = Type.Object({ id: DifyId });
export const TaskParams = Type.Object({ taskId: DifyId });

const Inputs = Type.Record(Type.String(), Type.Unknown(), { description: 'App variables by name' });
const Files = Type.Union([Type.Array(Type.Unknown(), { maxItems: 50 }), Type.Null()]);
const ResponseMode = Type.Union([Type.Literal('streaming'), Type.Literal('blocking')], {
  description: 'blocking when absent',
});
const IgnoredUser = Type.Optional(Type.Unknown({ description: 'Ignored: Tollgate sets Dify’s user itself' }));

export const ChatBody = Type.Object(
  {
    query: Type.String({ minLength: 1, maxLength: 100_000 }),
    inputs: Type.Optional(Inputs),
    response_mode: Type.Optional(ResponseMode),
    conversation_id: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    files: Type.Optional(Files),
    auto_generate_name: Type.Optional(Type.Boolean()),
    workflow_id: Type.Optional(Type.String({ maxLength: 64 })),
    user: IgnoredUser,
  },
  Open,
);

export const CompletionBody = Type.Object(
  {
    inputs: Type.Optional(Inputs),
    query: Type.Optional(Type.String({ maxLength: 100_000 })),
    response_mode: Type.Optional(ResponseMode),
    files: Type.Optional(Files),
    user: IgnoredUser,
  },
  Open,
);

export const WorkflowBody = Type.Object(
  {
    inputs: Type.Optional(Inputs),
    response_mode: Type.Optional(ResponseMode),
    files: Type.Optional(Files),
    user: IgnoredUser,
  },
  Open,
);

export const StopBody = Type.Optional(Type.Object({ user: IgnoredUser }, Open));

export const RenameBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    auto_generate: Type.Optional(Type.Boolean()),
    user: IgnoredUser,
  },
  Open,
);

export const FeedbackBody = Type.Object(
  {
    rating: Type.Union([Type.Literal('like'), Type.Literal('dislike'), Type.Null()]),
    content: Type.Optional(Type.String({ maxLength: 10_000 })),
    user: IgnoredUser,
  },
  Open,
);

export const TextToAudioBody = Type.Object(
  {
    text: Type.Optional(Type.String({ minLength: 1, maxLength: 10_000 })),
    message_id: Type.Optional(DifyId),
    voice: Type.Optional(Type.String({ maxLength: 64 })),
    streaming: Type.Optional(Type.Boolean()),
    user: IgnoredUser,
  },
  Open,
);

export const ConversationsQuery = Type.Object(
  {
    last_id: Type.Optional(DifyId),
    limit: Paging.limit({ default: 20 }),
    sort_by: Type.Union(
      ['created_at', '-created_at', 'updated_at', '-updated_at'].map((s) => Type.Literal(s)),
      { default: '-updated_at' },
    ),
  },
  Open,
);

export const MessagesQuery = Type.Object(
  { conversation_id: DifyId, first_id: Type.Optional(DifyId), limit: Type.Optional(Paging.limit()) },
  Open,
);

export const VariablesQuery = Type.Object(
  {
    last_id: Type.Optional(DifyId),
    limit: Type.Optional(Paging.limit()),
    variable_name: Type.Optional(Type.String({ maxLength: 255, pattern: '^[A-Za-z0-9._-]+$' })),
  },
  Open,
);

export const ProxyBody = Type.Object(
  {
    endpoint: Type.String({ minLength: 1, maxLength: 256 }),
    method: Type.Optional(Type.Union(['GET', 'POST', 'PUT', 'DELETE'].map((m) => Type.Literal(m)))),
    data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    headers: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: 'Ignored: no client header reaches Dify' }),
    ),
  },
  { additionalProperties: false },
);

export const Acknowledged = Type.Object(
  { success: Type.Boolean(), message: Type.String(), result: Type.String() },
  Open,
);
