import type { AuditTables } from '#modules/admin/audit.tables.ts';
import type { AuthTables } from '#modules/auth/auth.tables.ts';
import type { ChannelsTables } from '#modules/channels/channels.tables.ts';
import type { CheckinTables } from '#modules/checkin/checkin.tables.ts';
import type { CreditsTables } from '#modules/credits/credits.tables.ts';
import type { DifyTables } from '#modules/dify/dify.tables.ts';
import type { KeysTables } from '#modules/keys/keys.tables.ts';
import type { OrdersTables } from '#modules/orders/orders.tables.ts';
import type { PlansTables } from '#modules/plans/plans.tables.ts';
import type { PricingTables } from '#modules/pricing/pricing.tables.ts';
import type { TemplatesTables } from '#modules/templates/templates.tables.ts';
import type { CharactersTables } from '#modules/characters/characters.tables.ts';
import type { ImageJobsTables } from '#modules/image-jobs/image-jobs.tables.ts';
import type { StorageTables } from '#modules/storage/storage.tables.ts';
import type { GalleryTables } from '#modules/gallery/gallery.tables.ts';
import type { FavoritesTables } from '#modules/favorites/favorites.tables.ts';
import type { RedeemTables } from '#modules/redeem/redeem.tables.ts';
import type { UsageTables } from '#modules/usage/usage.tables.ts';
import type { UsersTables } from '#modules/users/users.tables.ts';

/** The whole database, as the union of every module's tables. */
export interface DB
  extends
    UsersTables,
    AuthTables,
    CreditsTables,
    CheckinTables,
    RedeemTables,
    KeysTables,
    ChannelsTables,
    PricingTables,
    UsageTables,
    DifyTables,
    AuditTables,
    PlansTables,
    OrdersTables,
    TemplatesTables,
    StorageTables,
    CharactersTables,
    ImageJobsTables,
    GalleryTables,
    FavoritesTables {}
