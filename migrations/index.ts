import type { Migration } from 'kysely';
import * as accounts from './20261121_0001_accounts.ts';
import * as credits from './20261122_0002_credits.ts';
import * as checkinsRedeem from './20261122_0003_checkins_redeem.ts';
import * as gateway from './20261122_0004_gateway.ts';
import * as dify from './20261122_0005_dify.ts';
import * as meteringLimits from './20261202_0006_metering_limits.ts';
import * as derivedUsernames from './20261207_0007_derived_usernames.ts';
import * as auditLog from './20261207_0008_audit_log.ts';
import * as wechatIdentity from './20261207_0009_wechat_identity.ts';
import * as plans from './20261207_0010_plans.ts';
import * as orders from './20261207_0011_orders.ts';
import * as storageCharacters from './20261207_0012_storage_characters.ts';
import * as templates from './20261207_0013_templates.ts';
import * as imageJobs from './20261207_0014_image_jobs.ts';
import * as galleryFavorites from './20261207_0015_gallery_favorites.ts';
import * as planTranslations from './20261208_0016_plan_translations.ts';

/** Every migration, in order. Append only: never edit or reorder one that has landed. */
export const migrations: Record<string, Migration> = {
  '20261121_0001_accounts': accounts,
  '20261122_0002_credits': credits,
  '20261122_0003_checkins_redeem': checkinsRedeem,
  '20261122_0004_gateway': gateway,
  '20261122_0005_dify': dify,
  '20261202_0006_metering_limits': meteringLimits,
  '20261207_0007_derived_usernames': derivedUsernames,
  '20261207_0008_audit_log': auditLog,
  '20261207_0009_wechat_identity': wechatIdentity,
  '20261207_0010_plans': plans,
  '20261207_0011_orders': orders,
  '20261207_0012_storage_characters': storageCharacters,
  '20261207_0013_templates': templates,
  '20261207_0014_image_jobs': imageJobs,
  '20261207_0015_gallery_favorites': galleryFavorites,
  '20261208_0016_plan_translations': planTranslations,
};
