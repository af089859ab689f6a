import type { Kysely } from 'kysely';

/**
 * Seed 003's prompt templates (a ready prompt a user starts from) and parameter templates (a ready set
 * of generation settings: mode, resolution, number of images and the rest), shown by category and by
 * use (docs/seed-003.md, Templates). `usage_count` is one atomic counter per template; `is_active` (1/0)
 * hides a template from users without deleting it.
 *
 * The seed's 10 prompt templates and 8 parameter templates are inserted here, so a new database has
 * them; `npm run seed` puts back any of them that is missing (by their fixed ids), on any database.
 * The rows below are this migration's: what a later version of a template looks like does not change them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('prompt_templates')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('title', 'varchar(100)', (c) => c.notNull())
    .addColumn('prompt', 'text', (c) => c.notNull())
    .addColumn('negative_prompt', 'text')
    .addColumn('description', 'varchar(500)')
    .addColumn('category', 'varchar(32)', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('cover_url', 'varchar(500)')
    .addColumn('usage_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('is_active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('sort_order', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('prompt_templates_category_idx').on('prompt_templates').column('category').execute();

  await db.schema
    .createTable('param_templates')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('description', 'varchar(500)')
    .addColumn('category', 'varchar(32)', (c) => c.notNull())
    .addColumn('mode', 'varchar(32)', (c) => c.notNull())
    .addColumn('resolution', 'varchar(16)', (c) => c.notNull())
    .addColumn('image_count', 'integer', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('cover_url', 'varchar(500)')
    .addColumn('usage_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('is_active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('sort_order', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('param_templates_category_idx').on('param_templates').column('category').execute();

  const now = Date.now();
  const seeded = db as Kysely<{ prompt_templates: SeedPromptRow; param_templates: SeedParamRow }>;
  await seeded.insertInto('prompt_templates').values(seedPromptRows(now)).execute();
  await seeded.insertInto('param_templates').values(seedParamRows(now)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('param_templates').execute();
  await db.schema.dropTable('prompt_templates').execute();
}

export interface SeedPromptRow {
  id: string;
  title: string;
  prompt: string;
  negative_prompt: string | null;
  description: string | null;
  category: string;
  tags: string;
  cover_url: string | null;
  usage_count: number;
  is_active: number;
  sort_order: number;
  created_at: number;
  updated_at: number;
}

export interface SeedParamRow {
  id: string;
  name: string;
  description: string | null;
  category: string;
  mode: string;
  resolution: string;
  image_count: number;
  params: string;
  cover_url: string | null;
  usage_count: number;
  is_active: number;
  sort_order: number;
  created_at: number;
  updated_at: number;
}

const NEGATIVE = '低画质，模糊，畸形，多余的手指，文字，水印';

/** The seed's 10 prompt templates (various styles), with fixed ids so every database names them alike. */
const SEED_PROMPTS = [
  {
    title: '日系清新人像',
    prompt: '日系清新风格人像摄影，柔和的自然光，浅景深，胶片质感，淡雅色调，人物微笑看向镜头，背景是夏日的街道',
    description: '通透柔和的日系写真风格，适合生活照与个人写真',
    category: 'portrait',
    tags: ['人像', '日系', '清新'],
  },
  {
    title: '复古港风人像',
    prompt: '九十年代香港电影风格人像，霓虹灯光，暖色调，胶片颗粒，夜晚街头，电影感构图',
    description: '霓虹与胶片颗粒，复古港片氛围',
    category: 'portrait',
    tags: ['人像', '复古', '港风'],
  },
  {
    title: '二次元少女',
    prompt: '日本动漫风格插画，精致的大眼睛少女，樱花飘落，明亮的色彩，细腻的线条，高清壁纸',
    description: '明亮细腻的日系动漫插画',
    category: 'anime',
    tags: ['动漫', '二次元', '插画'],
  },
  {
    title: '治愈系田园动画',
    prompt: '手绘动画电影风格，蓝天白云下的田园小屋，绿色草地与野花，温暖的阳光，治愈系氛围',
    description: '温暖治愈的手绘动画场景',
    category: 'anime',
    tags: ['动漫', '治愈', '田园'],
  },
  {
    title: '雪山日出',
    prompt: '雄伟的雪山在日出时分，金色的阳光照亮山峰，云海翻涌，超广角镜头，高清风光摄影',
    description: '壮丽的自然风光大片',
    category: 'landscape',
    tags: ['风景', '雪山', '日出'],
  },
  {
    title: '赛博朋克都市夜景',
    prompt: '赛博朋克风格的未来都市夜景，霓虹灯招牌，雨后湿润的街道倒影，飞行汽车，高楼林立，蓝紫色调',
    description: '霓虹闪烁的未来城市',
    category: 'scifi',
    tags: ['科幻', '赛博朋克', '城市'],
  },
  {
    title: '极简产品摄影',
    prompt: '纯色背景上的极简产品摄影，柔光箱照明，干净的投影，高端商业质感，居中构图，细节清晰',
    description: '电商主图与产品展示',
    category: 'product',
    tags: ['产品', '电商', '极简'],
  },
  {
    title: '国风水墨山水',
    prompt: '中国传统水墨画风格，远山近水，一叶扁舟与垂钓的渔翁，大面积留白，宣纸质感，意境悠远',
    description: '传统水墨意境',
    category: 'chinese',
    tags: ['国风', '水墨', '山水'],
  },
  {
    title: '奇幻森林精灵',
    prompt: '魔法森林中的精灵，发光的蘑菇和萤火虫，神秘的薄雾，电影级光影，史诗奇幻风格，细节丰富',
    description: '神秘梦幻的奇幻场景',
    category: 'fantasy',
    tags: ['奇幻', '精灵', '森林'],
  },
  {
    title: '萌宠写真',
    prompt: '毛茸茸的橘猫趴在窗台上，午后的阳光洒进来，温馨的氛围，浅景深，毛发细节清晰',
    description: '温馨可爱的宠物写真',
    category: 'animal',
    tags: ['萌宠', '猫', '温馨'],
  },
] as const;

/** The seed's 8 parameter templates (different modes and resolutions). */
const SEED_PARAMS = [
  {
    name: '快速草稿',
    description: '低分辨率一次出四张，快速挑选构图',
    category: 'draft',
    mode: 'fast',
    resolution: '512x512',
    count: 4,
    params: { steps: 20, guidanceScale: 7, aspectRatio: '1:1' },
  },
  {
    name: '标准方图',
    description: '最常用的 1:1 标准画质',
    category: 'general',
    mode: 'standard',
    resolution: '1024x1024',
    count: 1,
    params: { steps: 30, guidanceScale: 7.5, aspectRatio: '1:1' },
  },
  {
    name: '竖版人像',
    description: '3:4 竖构图，适合人像与头像',
    category: 'portrait',
    mode: 'standard',
    resolution: '768x1024',
    count: 1,
    params: { steps: 30, guidanceScale: 7, aspectRatio: '3:4' },
  },
  {
    name: '横版风景',
    description: '4:3 横构图，适合风景与场景',
    category: 'landscape',
    mode: 'standard',
    resolution: '1024x768',
    count: 1,
    params: { steps: 30, guidanceScale: 7, aspectRatio: '4:3' },
  },
  {
    name: '手机壁纸',
    description: '9:16 高清竖屏壁纸',
    category: 'wallpaper',
    mode: 'hd',
    resolution: '1024x1792',
    count: 1,
    params: { steps: 40, guidanceScale: 7, aspectRatio: '9:16' },
  },
  {
    name: '宽屏横幅',
    description: '16:9 高清横幅，适合电脑壁纸与封面',
    category: 'wallpaper',
    mode: 'hd',
    resolution: '1792x1024',
    count: 1,
    params: { steps: 40, guidanceScale: 7, aspectRatio: '16:9' },
  },
  {
    name: '超清大图',
    description: '2048 超高清，细节最丰富（耗时更长）',
    category: 'hd',
    mode: 'hd',
    resolution: '2048x2048',
    count: 1,
    params: { steps: 50, guidanceScale: 7.5, aspectRatio: '1:1' },
  },
  {
    name: '四图对比',
    description: '标准画质一次四张，便于比较挑选',
    category: 'general',
    mode: 'standard',
    resolution: '1024x1024',
    count: 4,
    params: { steps: 30, guidanceScale: 7.5, aspectRatio: '1:1' },
  },
] as const;

const promptId = (n: number) => `00000000-0000-7000-8000-0000000001${String(n).padStart(2, '0')}`;
const paramId = (n: number) => `00000000-0000-7000-8000-0000000002${String(n).padStart(2, '0')}`;

/** The seed prompt templates as rows, stamped `now` (also what `npm run seed` puts back). */
export function seedPromptRows(now: number): SeedPromptRow[] {
  return SEED_PROMPTS.map((t, i) => ({
    id: promptId(i + 1),
    title: t.title,
    prompt: t.prompt,
    negative_prompt: NEGATIVE,
    description: t.description,
    category: t.category,
    tags: JSON.stringify(t.tags),
    cover_url: null,
    usage_count: 0,
    is_active: 1,
    sort_order: i + 1,
    created_at: now,
    updated_at: now,
  }));
}

/** The seed parameter templates as rows, stamped `now` (also what `npm run seed` puts back). */
export function seedParamRows(now: number): SeedParamRow[] {
  return SEED_PARAMS.map((t, i) => ({
    id: paramId(i + 1),
    name: t.name,
    description: t.description,
    category: t.category,
    mode: t.mode,
    resolution: t.resolution,
    image_count: t.count,
    params: JSON.stringify(t.params),
    cover_url: null,
    usage_count: 0,
    is_active: 1,
    sort_order: i + 1,
    created_at: now,
    updated_at: now,
  }));
}
