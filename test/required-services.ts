/**
 * Without PostgreSQL, MySQL or Redis configured, the tests that need them are left out (a newcomer's
 * `npm test` on SQLite alone passes). CI sets TEST_REQUIRE_SERVICES=1: there a missing URL fails the
 * run before any test starts, so nothing is ever skipped in CI for want of a service.
 */
const SERVICES = ['TEST_POSTGRES_URL', 'TEST_MYSQL_URL', 'TEST_REDIS_URL'] as const;

export default function requireServices(): void {
  if (process.env.TEST_REQUIRE_SERVICES !== '1') return;
  const missing = SERVICES.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(`TEST_REQUIRE_SERVICES=1 but ${missing.join(', ')} not set: every backend must be tested here`);
  }
}
