/** Images: generate, jobs, characters, gallery, favorites: English strings; imagesZh has the same keys (the type makes a missing one an error). */
export const imagesEn = {};

export const imagesZh: Record<keyof typeof imagesEn, string> = {};
