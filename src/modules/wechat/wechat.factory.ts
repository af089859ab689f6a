import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '#core/config.ts';
import { SecretBox } from '#core/crypto.ts';
import type { KeyValueStore } from '#core/kv.ts';
import type { TokenService } from '#modules/auth/token.service.ts';
import type { AccountIdentities } from '#modules/users/identities.service.ts';
import type { UsersService, WithinCreation } from '#modules/users/users.service.ts';
import { AccessTokenCache } from './access-token.ts';
import { WeChatClient } from './wechat.client.ts';
import { WeChatService } from './wechat.service.ts';

/** WeChat sign-in from the configuration: without WECHAT_APPID and WECHAT_SECRET its routes answer 503 WECHAT_NOT_CONFIGURED. */
export function createWeChat(
  config: Config,
  deps: {
    users: UsersService;
    identities: AccountIdentities;
    tokens: TokenService;
    kv: KeyValueStore;
    logger: FastifyBaseLogger;
    onSignUp: (ip: string) => Promise<WithinCreation>;
  },
): WeChatService {
  const client =
    config.WECHAT_APPID && config.WECHAT_SECRET
      ? new WeChatClient({
          appid: config.WECHAT_APPID,
          secret: config.WECHAT_SECRET,
          baseUrl: config.WECHAT_API_BASE_URL,
          timeoutMs: config.WECHAT_TIMEOUT * 1000,
        })
      : undefined;
  return new WeChatService({
    client,
    accessToken: client ? new AccessTokenCache(client, deps.kv) : undefined,
    users: deps.users,
    identities: deps.identities,
    tokens: deps.tokens,
    kv: deps.kv,
    box: new SecretBox(config.masterKey),
    log: deps.logger,
    onSignUp: deps.onSignUp,
  });
}
