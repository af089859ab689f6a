import { CheckCircleFilled, LeftOutlined, RightOutlined } from '@ant-design/icons';
import { Button, Flex, Typography, theme } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useState } from 'react';
import { useI18n } from '@/i18n/index.tsx';

export interface CheckinCalendarProps {
  /** `YYYY-MM-DD` days checked in on. */
  checkedDates: ReadonlySet<string>;
  /** Today, `YYYY-MM-DD` (the server's check-in day): the month shown first, and marked. */
  today: string;
}

/** Monday-first weeks, as the calendars of zh-CN users read; the labels follow the language. */
const WEEKDAYS = {
  'zh-CN': ['一', '二', '三', '四', '五', '六', '日'],
  en: ['Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa', 'Su'],
};

/** The days of `month` laid out in weeks (null: a blank before the 1st or after the last day). */
export function monthGrid(month: Dayjs): (Dayjs | null)[][] {
  const first = month.startOf('month');
  const blanks = (first.day() + 6) % 7;
  const cells: (Dayjs | null)[] = Array.from({ length: blanks }, () => null);
  for (let d = 0; d < first.daysInMonth(); d++) cells.push(first.add(d, 'day'));
  while (cells.length % 7 !== 0) cells.push(null);
  return Array.from({ length: cells.length / 7 }, (_, w) => cells.slice(w * 7, w * 7 + 7));
}

/** A month of check-ins: each day checked in on is marked; earlier and later months by the arrows. */
export function CheckinCalendar({ checkedDates, today }: CheckinCalendarProps) {
  const { t, lang } = useI18n();
  const { token } = theme.useToken();
  const [month, setMonth] = useState(() => dayjs(today).startOf('month'));
  const title = lang === 'zh-CN' ? month.format('YYYY年M月') : month.locale('en').format('MMMM YYYY');

  return (
    <div>
      <Flex justify="space-between" align="center" style={{ marginBottom: 8 }}>
        <Button
          size="small"
          type="text"
          aria-label={t('previousMonth')}
          icon={<LeftOutlined />}
          onClick={() => setMonth(month.subtract(1, 'month'))}
        />
        <Typography.Text strong aria-live="polite">
          {title}
        </Typography.Text>
        <Button
          size="small"
          type="text"
          aria-label={t('nextMonth')}
          icon={<RightOutlined />}
          onClick={() => setMonth(month.add(1, 'month'))}
        />
      </Flex>
      <table role="grid" aria-label={title} style={{ width: '100%', borderCollapse: 'collapse', textAlign: 'center' }}>
        <thead>
          <tr>
            {WEEKDAYS[lang].map((day) => (
              <th key={day} scope="col" style={{ fontWeight: 400, color: token.colorTextSecondary, padding: 2 }}>
                {day}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {monthGrid(month).map((week, w) => (
            <tr key={w}>
              {week.map((day, d) => {
                if (!day) return <td key={d} />;
                const iso = day.format('YYYY-MM-DD');
                const checked = checkedDates.has(iso);
                const isToday = iso === today;
                return (
                  <td
                    key={d}
                    aria-label={checked ? `${iso} ${t('checkedInOn')}` : iso}
                    data-checked={checked || undefined}
                    aria-current={isToday ? 'date' : undefined}
                    style={{
                      padding: 2,
                      borderRadius: 6,
                      color: checked ? token.colorSuccessText : undefined,
                      background: checked ? token.colorSuccessBg : undefined,
                      outline: isToday ? `1px solid ${token.colorPrimary}` : undefined,
                    }}
                  >
                    {checked ? <CheckCircleFilled aria-hidden style={{ fontSize: 12, marginInlineEnd: 2 }} /> : null}
                    {day.date()}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
