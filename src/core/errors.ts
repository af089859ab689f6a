import { fill, type Lang } from './i18n.ts';

/**
 * The one error hierarchy. Services throw AppError with a stable code; the HTTP layer
 * (core/http/error-handler.ts) turns it into a status and a body, in one place.
 * Messages follow the seed documents (Chinese); English is chosen by Accept-Language.
 */

interface ErrorSpec {
  status: number;
  zh: string;
  en: string;
}

const BASE_ERRORS = {
  VALIDATION_FAILED: { status: 400, zh: '请求参数无效：{detail}', en: 'Invalid request: {detail}' },
  INVALID_JSON: { status: 400, zh: '请求体不是有效的 JSON', en: 'The request body is not valid JSON' },
  JSON_TOO_DEEP: {
    status: 400,
    zh: '请求体 JSON 嵌套超过 {max} 层',
    en: 'The request body is nested more than {max} levels deep',
  },
  EMPTY_BODY: { status: 400, zh: '请求体不能为空', en: 'The request body must not be empty' },
  BODY_TOO_LARGE: { status: 413, zh: '请求体过大', en: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    zh: '不支持的 Content-Type：{type}',
    en: 'Unsupported Content-Type: {type}',
  },
  MALFORMED_REQUEST: { status: 400, zh: '请求不是有效的 HTTP 请求', en: 'The request is not valid HTTP' },
  HEADERS_TOO_LARGE: { status: 431, zh: '请求头过大', en: 'The request headers are too large' },
  REQUEST_TIMEOUT: {
    status: 408,
    zh: '请求超时：未在规定时间内收到完整请求',
    en: 'The request did not arrive in time',
  },
  INVALID_CURSOR: { status: 400, zh: '分页游标无效', en: 'The page cursor is invalid' },
  BAD_URL: { status: 400, zh: '请求地址无效', en: 'The request URL is invalid' },
  ROUTE_NOT_FOUND: { status: 404, zh: '接口不存在：{method} {url}', en: 'Route {method} {url} not found' },
  NOT_FOUND: { status: 404, zh: '资源不存在', en: 'Not found' },
  UNAUTHORIZED: { status: 401, zh: '未登录或登录已过期', en: 'Not signed in, or the session has expired' },
  FORBIDDEN: { status: 403, zh: '没有权限执行此操作', en: 'You do not have permission to do this' },
  CSRF_HEADER_REQUIRED: {
    status: 403,
    zh: '使用 Cookie 登录时修改类请求必须携带 X-Requested-With 请求头',
    en: 'Requests that change state with a session cookie must send the X-Requested-With header',
  },
  ACCOUNT_DISABLED: { status: 403, zh: '账户已被禁用', en: 'This account is disabled' },
  EMAIL_ALREADY_REGISTERED: {
    status: 409,
    zh: '该邮箱已注册，请直接登录或使用密码重置功能',
    en: 'This email is already registered; sign in or reset the password',
  },
  EMAIL_NOT_REGISTERED: { status: 400, zh: '该邮箱未注册', en: 'This email is not registered' },
  EMAIL_CODE_INVALID: { status: 400, zh: '验证码无效或已过期', en: 'The verification code is invalid or has expired' },
  EMAIL_CODE_COOLDOWN: {
    status: 429,
    zh: '验证码发送过于频繁，请 {seconds} 秒后重试',
    en: 'A code was sent recently; try again in {seconds} seconds',
  },
  EMAIL_DAILY_LIMIT: {
    status: 429,
    zh: '今日验证码发送次数已达上限，请明天再试',
    en: 'The daily limit of verification emails has been reached; try again tomorrow',
  },
  MAIL_UNAVAILABLE: {
    status: 503,
    zh: '邮件发送失败，请稍后重试',
    en: 'The email could not be sent; please try again later',
  },
  WEAK_PASSWORD: {
    status: 400,
    zh: '密码长度为8-50位，且必须包含大写字母、小写字母和数字',
    en: 'The password must be 8-50 characters and contain an upper-case letter, a lower-case letter and a digit',
  },
  INVALID_CREDENTIALS: { status: 401, zh: '邮箱或密码错误', en: 'Incorrect email or password' },
  CAPTCHA_REQUIRED: { status: 400, zh: '需要输入图形验证码', en: 'A captcha is required' },
  CAPTCHA_INVALID: { status: 400, zh: '图形验证码错误或已过期', en: 'The captcha is wrong or has expired' },
  CAPTCHA_CHECK_FAILED: { status: 400, zh: '验证码无效或已过期', en: 'The captcha is invalid or has expired' },
  ACCOUNT_LOCKED: {
    status: 401,
    zh: '账户已被锁定，请在 {minutes} 分钟后重试',
    en: 'The account is locked; try again in {minutes} minutes',
  },
  REFRESH_TOKEN_INVALID: {
    status: 401,
    zh: '刷新令牌无效或已过期，请重新登录',
    en: 'The refresh token is invalid or has expired; please sign in again',
  },
  EXPIRES_AT_IN_PAST: {
    status: 400,
    zh: 'expiresAt（过期时间）必须晚于当前时间',
    en: 'expiresAt must be in the future',
  },
  INSUFFICIENT_CREDITS: { status: 402, zh: '积分不足', en: 'Not enough credits' },
  CHECKIN_ALREADY_DONE: {
    status: 409,
    zh: '今日已签到，请明天再来',
    en: 'Already checked in today; come back tomorrow',
  },
  REDEEM_CODE_INVALID: { status: 400, zh: '兑换码无效', en: 'This redeem code is not valid' },
  REDEEM_CODE_USED: { status: 409, zh: '兑换码已被使用', en: 'This redeem code has been used up' },
  REDEEM_CODE_EXPIRED: { status: 400, zh: '兑换码已过期', en: 'This redeem code has expired' },
  REDEEM_CODE_DISABLED: { status: 400, zh: '兑换码已停用', en: 'This redeem code has been disabled' },
  REDEEM_ALREADY_REDEEMED: { status: 409, zh: '您已使用过该兑换码', en: 'You have already redeemed this code' },
  REDEEM_TOO_MANY_ATTEMPTS: {
    status: 429,
    zh: '兑换失败次数过多，请 {minutes} 分钟后重试',
    en: 'Too many failed redeem attempts; try again in {minutes} minutes',
  },
  TOO_MANY_KEYS: {
    status: 409,
    zh: '每个账户最多 {max} 个 API 密钥',
    en: 'An account may have at most {max} API keys',
  },
  API_KEY_MISSING: {
    status: 401,
    zh: '未提供 API 密钥，请在 Authorization 请求头中使用 Bearer 方式携带',
    en: "You didn't provide an API key. Send it in the Authorization header as a Bearer token.",
  },
  INVALID_API_KEY: { status: 401, zh: 'API 密钥无效', en: 'Incorrect API key provided' },
  API_KEY_DISABLED: { status: 401, zh: 'API 密钥已停用', en: 'This API key is disabled' },
  API_KEY_EXPIRED: { status: 401, zh: 'API 密钥已过期', en: 'This API key has expired' },
  API_KEY_IP_DENIED: { status: 403, zh: '此 API 密钥不允许从 {ip} 访问', en: 'This API key may not be used from {ip}' },
  API_KEY_GUESSING: {
    status: 429,
    zh: '无效 API 密钥的尝试次数过多，请 {seconds} 秒后重试',
    en: 'Too many invalid API keys from this address; try again in {seconds} seconds',
  },
  KEY_CREDIT_CAP: { status: 402, zh: '此 API 密钥的积分额度已用完', en: 'This API key has reached its credit cap' },
  MODEL_NOT_FOUND: {
    status: 404,
    zh: '模型 `{model}` 不存在或您无权使用',
    en: 'The model `{model}` does not exist or you do not have access to it.',
  },
  MODEL_NOT_PRICED: {
    status: 400,
    zh: '模型 `{model}` 尚未定价，暂不可用',
    en: 'The model `{model}` has no price yet and cannot be used',
  },
  RATE_LIMITED: {
    status: 429,
    zh: '请求过于频繁：{scopeZh}的{limitZh}已达上限（{max}），请 {seconds} 秒后重试',
    en: 'Rate limit reached for {scope} on {limit}: limit {max}. Please try again in {seconds}s.',
  },
  UPSTREAM_UNAVAILABLE: {
    status: 503,
    zh: '上游服务暂时不可用，请稍后重试（未扣费）',
    en: 'The upstream service is unavailable; please retry later (nothing was charged)',
  },
  UPSTREAM_ERROR: { status: 502, zh: '上游服务返回错误：{detail}', en: 'The upstream service failed: {detail}' },
  DIFY_NOT_CONFIGURED: {
    status: 503,
    zh: '暂无可用的 Dify 应用，请联系管理员',
    en: 'No Dify app is available; ask the administrator',
  },
  DIFY_APP_NOT_FOUND: {
    status: 404,
    zh: 'Dify 应用不存在或不支持此接口：{app}',
    en: 'No Dify app {app} serves this endpoint',
  },
  DIFY_REJECTED: { status: 400, zh: 'Dify 拒绝了请求：{detail}', en: 'Dify refused the request: {detail}' },
  CONVERSATION_NOT_FOUND: { status: 404, zh: '会话不存在', en: 'Conversation Not Exists.' },
  MESSAGE_NOT_FOUND: { status: 404, zh: '消息不存在', en: 'Message Not Exists.' },
  FILE_NOT_FOUND: { status: 404, zh: '文件不存在', en: 'File not found' },
  TASK_NOT_FOUND: { status: 404, zh: '任务不存在或已结束', en: 'Task not found' },
  FILE_REQUIRED: { status: 400, zh: '请上传文件（字段 file）', en: 'Upload a file in the field `file`' },
  MALFORMED_UPLOAD: {
    status: 400,
    zh: '上传内容不是有效的 multipart/form-data（需要 boundary，并在字段 file 中带一个文件）',
    en: 'The upload is not a valid multipart/form-data body (with a boundary, and a file in the field `file`)',
  },
  FILE_TOO_LARGE: { status: 413, zh: '文件过大（上限 {max} 字节）', en: 'The file is too large (limit {max} bytes)' },
  PROXY_ENDPOINT_NOT_ALLOWED: {
    status: 400,
    zh: '不允许代理此 Dify 接口：{endpoint}',
    en: 'This Dify endpoint may not be proxied: {endpoint}',
  },
  SERVICE_UNAVAILABLE: { status: 503, zh: '服务暂时不可用，请稍后重试', en: 'Service temporarily unavailable' },
  INTERNAL: { status: 500, zh: '服务器内部错误', en: 'Internal server error' },
} as const satisfies Record<string, ErrorSpec>;

/** Seed 003's WeChat sign-in and the linking of sign-in methods to one account. */
const IDENTITY_ERRORS = {
  WECHAT_NOT_CONFIGURED: {
    status: 503,
    zh: '未配置微信登录（WECHAT_APPID / WECHAT_SECRET）',
    en: 'WeChat sign-in is not configured (WECHAT_APPID / WECHAT_SECRET)',
  },
  WECHAT_CODE_INVALID: {
    status: 400,
    zh: '微信登录凭证 code 无效、已过期或已被使用，请重新调用 wx.login 获取',
    en: 'The WeChat code is invalid, expired or already used; call wx.login again for a new one',
  },
  WECHAT_LOGIN_BLOCKED: {
    status: 403,
    zh: '微信拒绝了此用户的登录（高风险用户）',
    en: 'WeChat refused to sign this user in (a high-risk user)',
  },
  WECHAT_BUSY: {
    status: 503,
    zh: '微信服务繁忙或请求过于频繁，请 {seconds} 秒后重试',
    en: 'WeChat is busy or rate-limiting; try again in {seconds} seconds',
  },
  WECHAT_UNAVAILABLE: {
    status: 503,
    zh: '暂时无法连接微信服务，请稍后重试',
    en: 'WeChat cannot be reached at the moment; try again later',
  },
  WECHAT_ALREADY_LINKED: {
    status: 409,
    zh: '该微信账号已绑定其他账户',
    en: 'This WeChat identity belongs to another account',
  },
  ACCOUNT_HAS_WECHAT: {
    status: 409,
    zh: '当前账户已绑定另一个微信账号，请先解绑',
    en: 'This account already has another WeChat identity; unlink it first',
  },
  WECHAT_NOT_LINKED: { status: 400, zh: '当前账户未绑定微信', en: 'This account has no WeChat identity' },
  ACCOUNT_HAS_EMAIL: {
    status: 409,
    zh: '当前账户已绑定邮箱',
    en: 'This account already has an email',
  },
  EMAIL_NOT_LINKED: { status: 400, zh: '当前账户未绑定邮箱', en: 'This account has no email' },
  LAST_SIGN_IN_METHOD: {
    status: 409,
    zh: '这是账户唯一的登录方式，请先绑定其他登录方式再解绑',
    en: 'This is the only way into this account; add another before removing it',
  },
  PHONE_CODE_INVALID: {
    status: 400,
    zh: '手机号授权 code 无效、已过期或已被使用',
    en: 'The phone number code is invalid, expired or already used',
  },
} as const satisfies Record<string, ErrorSpec>;

/** Plans (seed 003's VIP, seed 004's quotas), their allowances, and points. */
const PLAN_ERRORS = {
  PLAN_NOT_FOUND: { status: 404, zh: '套餐不存在', en: 'No such plan' },
  PLAN_CODE_TAKEN: { status: 409, zh: '套餐代码 {code} 已被使用', en: 'The plan code {code} is taken' },
  PLAN_NOT_ACTIVE: { status: 404, zh: '当前没有有效的会员套餐', en: 'There is no active plan' },
  PLAN_CHANGE_REFUSED: {
    status: 409,
    zh: '当前套餐「{current}」（{until}）等级不低于「{plan}」，不能更换；请在到期后再开通',
    en: 'The current plan "{current}" ({until}) is of the same or a higher level than "{plan}"; it can be taken once the current one ends',
  },
  PLAN_ALREADY_LIFETIME: {
    status: 409,
    zh: '当前套餐「{current}」已是永久有效，无需续期',
    en: 'The current plan "{current}" is for life already; there is nothing to extend',
  },
  PLAN_ACTIVATION_RACE: {
    status: 409,
    zh: '套餐正在被同时更改，请重试',
    en: 'The plan was being changed at the same time; please retry',
  },
  PLAN_EXPIRY_IN_PAST: { status: 400, zh: '到期时间必须晚于当前时间', en: 'The expiry must be in the future' },
  PLAN_MODEL_NOT_ALLOWED: {
    status: 403,
    zh: '您的套餐「{plan}」不包含模型 `{model}`',
    en: 'Your plan "{plan}" does not include the model `{model}`',
  },
  PLAN_ALLOWANCE_EXCEEDED: {
    status: 429,
    zh: '套餐额度已用完：{periodZh}{metricZh}上限 {limit}，将于 {resetAt} 重置',
    en: 'Plan allowance used up: {metric} per {period}, limit {limit}; it resets at {resetAt}',
  },
  PLAN_CREDITS_ALLOWANCE_EXCEEDED: {
    status: 402,
    zh: '套餐额度已用完：{periodZh}{metricZh}上限 {limit}，将于 {resetAt} 重置',
    en: 'Plan allowance used up: {metric} per {period}, limit {limit}; it resets at {resetAt}',
  },
  PAYMENTS_NOT_CONFIGURED: {
    status: 503,
    zh: '支付功能尚未开通，暂时无法在线购买；请使用兑换码或联系管理员',
    en: 'Payments are not configured yet; use a redeem code or ask the administrator',
  },
} as const satisfies Record<string, ErrorSpec>;

/** Orders and payments (docs/payments.md): what a payer, a provider's news or an admin's refund can meet. */
const PAYMENT_ERRORS = {
  ORDER_NOT_FOUND: { status: 404, zh: '订单不存在', en: 'No such order' },
  PAYMENT_MISMATCH: {
    status: 400,
    zh: '支付结果与订单不符：{detail}',
    en: 'The payment does not match the order: {detail}',
  },
  ORDER_NOT_PAYABLE: {
    status: 409,
    zh: '订单当前状态为 {status}，不能支付',
    en: 'The order is {status} and cannot be paid',
  },
  ORDER_NOT_REFUNDABLE: {
    status: 409,
    zh: '订单当前状态为 {status}，不能退款',
    en: 'The order is {status} and cannot be refunded',
  },
  REFUND_EXCEEDS_PAID: {
    status: 409,
    zh: '退款金额超出可退金额（最多还可退 {left}）',
    en: 'The refund is more than what is left to refund (at most {left})',
  },
  PAYMENT_CHANNEL_UNAVAILABLE: {
    status: 400,
    zh: '不支持的支付方式 {channel}；可用：{offered}',
    en: 'The payment channel {channel} is not offered; offered: {offered}',
  },
  PRICE_NOT_AVAILABLE: {
    status: 400,
    zh: '该商品没有 {currency} 价格，请选择其他支付方式',
    en: 'This item has no price in {currency}; choose another way to pay',
  },
  CREDIT_PACK_NOT_FOUND: { status: 404, zh: '充值套餐不存在', en: 'No such credit pack' },
  RECHARGE_AMOUNT_OUT_OF_RANGE: {
    status: 400,
    zh: '充值金额须在 {min} 到 {max} 分之间',
    en: 'The recharge amount must be between {min} and {max} fen',
  },
  TOO_MANY_PENDING_ORDERS: {
    status: 429,
    zh: '待支付订单过多（最多 {max} 个），请先完成或等待其关闭',
    en: 'Too many unpaid orders (at most {max}); pay or wait for them to close first',
  },
  PAYMENT_PROVIDER_UNAVAILABLE: {
    status: 503,
    zh: '支付服务暂时不可用，请稍后重试（未扣款）',
    en: 'The payment provider is unavailable; please retry later (nothing was charged)',
  },
} as const satisfies Record<string, ErrorSpec>;

/** The admin back office: the admin key, user management, the audit log. */
const ADMIN_ERRORS = {
  ADMIN_KEY_NOT_ENABLED: {
    status: 403,
    zh: '未启用管理员密钥（X-Admin-Key）：服务器未设置有效的 ADMIN_API_KEY',
    en: 'X-Admin-Key is not accepted: this server has no (valid) ADMIN_API_KEY',
  },
  ADMIN_KEY_INVALID: { status: 401, zh: '管理员密钥（X-Admin-Key）无效', en: 'The X-Admin-Key is wrong' },
  ADMIN_KEY_GUESSING: {
    status: 429,
    zh: '错误的管理员密钥尝试次数过多，请 {seconds} 秒后重试',
    en: 'Too many wrong X-Admin-Key attempts from this address; try again in {seconds} seconds',
  },
  LAST_ADMIN: {
    status: 409,
    zh: '不能停用、降级或删除最后一位有效的管理员',
    en: 'The last active admin cannot be disabled, demoted or deleted',
  },
} as const satisfies Record<string, ErrorSpec>;

/** Stripe: its webhook and its API (modules/payments/stripe). */
const STRIPE_ERRORS = {
  STRIPE_SIGNATURE_INVALID: {
    status: 400,
    zh: 'Stripe 签名校验失败：{reason}',
    en: 'The Stripe signature could not be verified: {reason}',
  },
  STRIPE_EVENT_INVALID: {
    status: 400,
    zh: 'Stripe 事件内容无效：{detail}',
    en: 'The Stripe event is not valid: {detail}',
  },
  STRIPE_UNAVAILABLE: {
    status: 502,
    zh: 'Stripe 暂时无法访问，请稍后重试',
    en: 'Stripe cannot be reached right now; try again later',
  },
  STRIPE_REFUSED: { status: 502, zh: 'Stripe 拒绝了请求：{detail}', en: 'Stripe refused the request: {detail}' },
} as const satisfies Record<string, ErrorSpec>;

/** Prompt and parameter templates (seed 003's templates; docs/seed-003.md). */
const TEMPLATE_ERRORS = {
  PROMPT_TEMPLATE_NOT_FOUND: { status: 404, zh: '提示词模板不存在', en: 'No such prompt template' },
  PARAM_TEMPLATE_NOT_FOUND: { status: 404, zh: '参数模板不存在', en: 'No such parameter template' },
  PARAM_TEMPLATE_INVALID: {
    status: 400,
    zh: '参数模板无效：{detail}',
    en: 'The parameter template is invalid: {detail}',
  },
} as const satisfies Record<string, ErrorSpec>;

/** Object storage, image uploads and face-lock characters (docs/storage.md, docs/seed-003.md). */
const STORAGE_ERRORS = {
  IMAGE_REQUIRED: {
    status: 400,
    zh: '请上传图片：multipart 字段 file，或 JSON 字段 image（base64）',
    en: 'Send an image: a multipart field `file`, or a JSON field `image` (base64)',
  },
  INVALID_BASE64: { status: 400, zh: '图片不是有效的 base64 数据', en: 'The image is not valid base64' },
  UNSUPPORTED_IMAGE_TYPE: {
    status: 415,
    zh: '不支持的图片格式：仅支持 PNG、JPEG、WebP、GIF',
    en: 'Unsupported image format: only PNG, JPEG, WebP and GIF are accepted',
  },
  IMAGE_CORRUPT: {
    status: 400,
    zh: '图片已损坏或不完整，无法读取尺寸',
    en: 'The image is damaged or incomplete: its size cannot be read',
  },
  IMAGE_TOO_LARGE: { status: 413, zh: '图片过大（上限 {max} 字节）', en: 'The image is too large (limit {max} bytes)' },
  IMAGE_TOO_MANY_PIXELS: {
    status: 413,
    zh: '图片尺寸过大（{width}×{height}，上限 {max} 像素）',
    en: 'The image has too many pixels ({width}×{height}, limit {max})',
  },
  STORAGE_UNAVAILABLE: {
    status: 503,
    zh: '存储服务暂时不可用，请稍后重试',
    en: 'Object storage is unavailable; please try again later',
  },
  CHARACTER_NOT_FOUND: { status: 404, zh: '角色不存在', en: 'No such character' },
  PHOTO_NOT_FOUND: { status: 404, zh: '照片不存在', en: 'No such photo' },
  CHARACTER_PHOTO_LIMIT: {
    status: 409,
    zh: '每个角色最多 {max} 张照片',
    en: 'A character has at most {max} photos',
  },
  PHOTO_URL_INVALID: {
    status: 400,
    zh: '照片地址须为公网 https 地址：{detail}',
    en: 'The photo URL must be a public https URL: {detail}',
  },
} as const satisfies Record<string, ErrorSpec>;

/** WeChat Pay API v3 (modules/payments/wechat-pay): what its refusals and outages mean to the payer. */
const WECHAT_PAY_ERRORS = {
  WECHAT_PAY_OPENID_REQUIRED: {
    status: 400,
    zh: '小程序支付需要先使用微信登录',
    en: 'Paying in the mini-program needs a WeChat sign-in (openid)',
  },
  WECHAT_PAY_REFUSED: {
    status: 502,
    zh: '微信支付拒绝了请求：{detail}',
    en: 'WeChat Pay refused the request: {detail}',
  },
  WECHAT_PAY_REFUND_REFUSED: {
    status: 409,
    zh: '微信支付拒绝了退款：{detail}',
    en: 'WeChat Pay refused the refund: {detail}',
  },
  WECHAT_PAY_UNAVAILABLE: {
    status: 503,
    zh: '微信支付暂时不可用，请稍后重试',
    en: 'WeChat Pay is unavailable; please try again later',
  },
} as const satisfies Record<string, ErrorSpec>;

/** The gallery and favorites (seed 003; docs/seed-003.md, Gallery and Favorites). */
const GALLERY_ERRORS = {
  GALLERY_IMAGE_NOT_FOUND: {
    status: 404,
    zh: '图片不存在或已下架',
    en: 'No such gallery image (or it was taken down)',
  },
  GALLERY_SOURCE_REQUIRED: {
    status: 400,
    zh: '请提供要发布的图片：imageId 或 imageUrl',
    en: 'Name the image to publish: imageId or imageUrl',
  },
  GALLERY_SOURCE_NOT_FOUND: {
    status: 404,
    zh: '要发布的图片不存在，或不是你自己的图片',
    en: 'The image to publish does not exist or is not yours',
  },
  GALLERY_IMAGE_URL_INVALID: {
    status: 400,
    zh: '只能发布 Tollgate 为你保存的图片（生成结果或上传的图片），不能使用外部地址',
    en: 'Only an image Tollgate stored for you (a job result or an upload) can be published, not an outside URL',
  },
  GALLERY_ALREADY_PUBLISHED: {
    status: 409,
    zh: '这张图片已经发布到画廊',
    en: 'This image is already published to the gallery',
  },
  GALLERY_IMAGE_TAKEN_DOWN: {
    status: 409,
    zh: '这张图片已被管理员下架，不能再次发布',
    en: 'An admin took this image down; it cannot be published again',
  },
  FAVORITE_NOT_FOUND: { status: 404, zh: '收藏不存在', en: 'No such favorite' },
} as const satisfies Record<string, ErrorSpec>;

/** Paid image-generation jobs (docs/image-jobs.md). */
const IMAGE_JOB_ERRORS = {
  IMAGE_JOBS_NOT_CONFIGURED: {
    status: 503,
    zh: '图片生成服务未配置',
    en: 'Image generation is not configured (THIRD_PARTY_API_BASE_URL, THIRD_PARTY_API_KEY)',
  },
  IMAGE_JOB_NOT_FOUND: { status: 404, zh: '任务不存在', en: 'No such job' },
  IMAGE_JOB_REJECTED: {
    status: 400,
    zh: '图片生成服务拒绝了该请求：{detail}',
    en: 'The image generation service refused the request: {detail}',
  },
  IMAGE_JOB_UPSTREAM_FAILED: {
    status: 502,
    zh: '图片生成服务暂时不可用，未扣除积分，请稍后重试',
    en: 'The image generation service is unavailable; nothing was charged, please try again later',
  },
  IMAGE_JOB_FINISHED: {
    status: 409,
    zh: '任务已结束（{status}），无法取消',
    en: 'The job has already ended ({status}) and cannot be cancelled',
  },
  IMAGE_JOB_BUSY: { status: 409, zh: '任务正在处理中，请稍后重试', en: 'The job is being updated; try again shortly' },
} as const satisfies Record<string, ErrorSpec>;

const ERRORS = {
  ...BASE_ERRORS,
  ...IDENTITY_ERRORS,
  ...PLAN_ERRORS,
  ...PAYMENT_ERRORS,
  ...ADMIN_ERRORS,
  ...STRIPE_ERRORS,
  ...TEMPLATE_ERRORS,
  ...STORAGE_ERRORS,
  ...WECHAT_PAY_ERRORS,
  ...GALLERY_ERRORS,
  ...IMAGE_JOB_ERRORS,
};

export type ErrorCode = keyof typeof ERRORS;
export type MessageParams = Record<string, string | number>;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly params: MessageParams = {},
    /** Extra fields merged into the error body (e.g. `valid: false`), never secrets. */
    readonly extra: Record<string, unknown> = {},
    /** Seconds after which the client may retry; sent as Retry-After. */
    readonly retryAfter?: number,
  ) {
    super(translate('en', code, params));
    this.name = 'AppError';
    this.status = ERRORS[code].status;
  }
}

/** Dify answered a call with a client error (a 4xx of its own): its status, code and message reach the client. */
export class DifyRejected extends AppError {
  override readonly status: number;
  constructor(status: number, difyCode: string, message: string) {
    super('DIFY_REJECTED', { detail: message }, { status, dify_code: difyCode });
    this.status = status;
  }
}

export function translate(lang: Lang, code: ErrorCode, params: MessageParams = {}): string {
  return fill(ERRORS[code][lang], params);
}
