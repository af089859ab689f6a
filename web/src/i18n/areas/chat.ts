/** Playground and Dify chat: English strings; chatZh has the same keys (the type makes a missing one an error). */
export const chatEn = {};

export const chatZh: Record<keyof typeof chatEn, string> = {};
