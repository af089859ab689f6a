import { registerUser } from '#test/reliability/support/accounts.ts';
import type { Cluster } from '#test/reliability/support/cluster.ts';

/**
 * Everything the instances logged during the whole run (pino's lines at debug, stderr, the killed
 * process's output included) searched for every secret the run handed over or received: passwords,
 * session and refresh tokens, API keys, redeem codes, the channel's upstream key, JWT_SECRET and
 * MASTER_KEY. Also refreshes a session and fails a login with a known password first, so the log
 * has seen a refresh token and a wrong password in a body.
 */
export async function logSecrets(cluster: Cluster): Promise<void> {
  const { tally, http, secrets } = cluster;
  const user = await registerUser(cluster, 2);
  const refreshed = await http.expectJson<{ access_token: string; refresh_token: string }>(
    cluster.url(1),
    'POST',
    '/api/auth/refresh',
    200,
    { body: { refresh_token: user.refreshToken } },
  );
  secrets.add('a rotated access token', refreshed.access_token);
  secrets.add('a rotated refresh token', refreshed.refresh_token);
  const wrongPassword = 'Wr0ng-Password-For-The-Log-Scan';
  secrets.add('a wrong password tried at login', wrongPassword);
  await http.send(cluster.url(1), 'POST', '/api/auth/login', {
    body: { email: 'reliability-admin@example.com', password: wrongPassword },
  });
  const logs = cluster.logs();
  const found = secrets.foundIn(logs);
  tally.check(found.length === 0, `secrets in the logs: ${found.join(', ')}`);
  const lines = logs.split('\n').filter(Boolean).length;
  tally.check(lines > 100, `the instances logged only ${lines} lines: the scan would prove nothing`);
  tally.note(
    `${cluster.dialect}: ${lines} log lines (${Math.round(logs.length / 1024)} KiB) from ${cluster.instances.reduce((n, i) => n + i.starts, 0)} processes searched for ${secrets.size} secrets`,
  );
}
