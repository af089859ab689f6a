import { Typography } from 'antd';
import { useI18n } from '@/i18n/index.tsx';

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A value as a person reads it: text as it is, nothing as a dash, anything else as compact JSON. */
export function readable(value: unknown): string {
  if (value === undefined || value === null) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** The rows of a before/after pair: every field either side names, changed ones first marked. */
export function changeRows(
  before: unknown,
  after: unknown,
): { field: string; before: string; after: string; changed: boolean }[] {
  const b: Fields = isObject(before) ? before : before === null || before === undefined ? {} : { value: before };
  const a: Fields = isObject(after) ? after : after === null || after === undefined ? {} : { value: after };
  const fields = [...new Set([...Object.keys(b), ...Object.keys(a)])];
  return fields.map((field) => {
    const from = field in b ? readable(b[field]) : '—';
    const to = field in a ? readable(a[field]) : '—';
    return { field, before: from, after: to, changed: from !== to };
  });
}

/** An audit entry's before and after, field by field; changed fields in bold. */
export function AuditChange({ before, after, label }: { before: unknown; after: unknown; label: string }) {
  const { t } = useI18n();
  const rows = changeRows(before, after);
  if (rows.length === 0) return <Typography.Text type="secondary">{t('apNoDetail')}</Typography.Text>;
  return (
    <table aria-label={label} style={{ borderCollapse: 'collapse', width: '100%' }}>
      <thead>
        <tr>
          <th scope="col" style={{ textAlign: 'start', paddingInlineEnd: 16 }}>
            {t('apField')}
          </th>
          <th scope="col" style={{ textAlign: 'start', paddingInlineEnd: 16 }}>
            {t('apBefore')}
          </th>
          <th scope="col" style={{ textAlign: 'start' }}>
            {t('apAfter')}
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.field} data-changed={row.changed || undefined}>
            <th scope="row" style={{ textAlign: 'start', fontWeight: row.changed ? 600 : 400, paddingInlineEnd: 16 }}>
              {row.field}
            </th>
            <td style={{ paddingInlineEnd: 16, wordBreak: 'break-all' }}>
              <Typography.Text type={row.changed ? 'secondary' : undefined}>{row.before}</Typography.Text>
            </td>
            <td style={{ wordBreak: 'break-all' }}>
              <Typography.Text strong={row.changed}>{row.after}</Typography.Text>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
