/** Admin: overview, users, audit log: English strings; adminPeopleZh has the same keys (the type makes a missing one an error). */
export const adminPeopleEn = {};

export const adminPeopleZh: Record<keyof typeof adminPeopleEn, string> = {};
