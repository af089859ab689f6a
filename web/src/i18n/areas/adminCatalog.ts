/** Admin: channels, Dify apps, prices, plans, redeem batches, orders, templates, gallery moderation: English strings; adminCatalogZh has the same keys (the type makes a missing one an error). */
export const adminCatalogEn = {};

export const adminCatalogZh: Record<keyof typeof adminCatalogEn, string> = {};
