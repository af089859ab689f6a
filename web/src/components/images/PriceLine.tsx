import { useQuery } from '@tanstack/react-query';
import { Typography } from 'antd';
import { imagesApi } from '@/api/images.ts';
import { number } from '@/format.ts';
import { useI18n } from '@/i18n/index.tsx';

const VALID = { mode: /^[a-z0-9][a-z0-9_-]{0,31}$/, resolution: /^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$/ };

/** The price of the job the form describes, as the server would hold it now (my role and plan applied). */
export function PriceLine({ mode, resolution, count }: { mode?: string; resolution?: string; count?: number | null }) {
  const { t } = useI18n();
  const valid =
    !!mode && VALID.mode.test(mode) && !!resolution && VALID.resolution.test(resolution) && !!count && count >= 1;
  const query = { mode: mode ?? '', resolution: resolution ?? '', count: count ?? 1 };
  const price = useQuery({
    queryKey: ['job-price', query],
    queryFn: () => imagesApi.price(query),
    enabled: valid && count <= 10,
  });
  return (
    <div aria-live="polite">
      {price.data && (
        <Typography.Text strong>
          {t('imgPrice', { credits: number(price.data.credits), count: price.data.count })}
        </Typography.Text>
      )}
      {price.error && <Typography.Text type="danger">{price.error.message}</Typography.Text>}
    </div>
  );
}
